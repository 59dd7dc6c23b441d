// Writes test/engine/fixtures/fake-secrets.tsv: 50 FAKE secrets of each format redactSecrets must replace.
// Seeded, so running it again gives the same file. Every value is random and invalid; most carry FAKE or EXAMPLE.
import fs from "node:fs";

let state = 0x5eed1234;
function rnd() { // mulberry32
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = (alphabet, n) => Array.from({length: n}, () => alphabet[Math.floor(rnd() * alphabet.length)]).join("");
const lower = "abcdefghijklmnopqrstuvwxyz", upper = lower.toUpperCase(), digits = "0123456789", hex = "0123456789abcdef";
const alnum = lower + upper + digits, b64 = alnum + "+/", urlsafe = alnum + "-_";
const insertFake = (s) => { const at = Math.floor(rnd() * (s.length - 4)); return s.slice(0, at) + "FAKE" + s.slice(at + 4); };

const formats = {
    "slack-app-token": () => { const s = `xapp-1-A0FAKE${pick(upper + digits, 5)}-${pick(digits, 13)}-${pick(hex, 64)}`; return [`Socket Mode connects with ${s} (app-level token)`, s]; },
    "stripe-webhook-secret": () => { const s = `whsec_FAKE${pick(alnum, 28)}`; return [`stripe listen printed: Your webhook signing secret is ${s}`, s]; },
    "google-oauth-client-secret": () => { const s = `GOCSPX-FAKE${pick(urlsafe, 24)}`; return [`{"installed":{"client_id":"1234-example.apps.googleusercontent.com","client_secret_value":"${s}"}}`, s]; },
    "azure-account-key": () => { const s = insertFake(pick(b64, 86)) + "=="; return [`DefaultEndpointsProtocol=https;AccountName=fakeexample;AccountKey=${s};EndpointSuffix=core.windows.net`, s]; },
    "azure-sas-signature": () => { const s = `FAKE${pick(alnum, 20)}%2B${pick(alnum, 12)}%2F${pick(alnum, 4)}%3D`; return [`https://fakeexample.blob.core.windows.net/c/f.txt?sv=2022-11-02&ss=b&sp=r&se=2030-01-01T00:00:00Z&sig=${s}`, s]; },
    "npmrc-auth": () => { const s = Buffer.from(`fake-user:FAKE-${pick(alnum, 12)}`).toString("base64"); return [`//registry.npmjs.org/:_auth=${s}`, s]; },
    "redis-password-only": () => { const s = `FAKEpw${pick(alnum, 14)}`; return [`REDIS_URL is redis://:${s}@cache.example.com:6379/0`, s]; },
    "url-password-with-slash": () => { const s = `FAKE/${pick(alnum, 10)}/${pick(alnum, 6)}`; return [`git clone https://deploy:${s}@git.example.com/team/repo.git`, s]; },
    "url-password-with-at": () => { const s = `p@FAKE${pick(alnum, 10)}`; return [`curl https://user:${s}@host.example.com/api`, s]; },
    "aws-secret-access-key": () => { let s; do s = insertFake(pick(b64, 40)); while (!/[/+]/.test(s) || !/\d/.test(s)); return [`AKIAIOSFODNN7EXAMPLE\n${s}`, s]; },
    "gitlab-pat": () => { const s = `glpat-FAKE${pick(urlsafe, 16)}`; return [`git push with ${s} as the password`, s]; },
    "sendgrid-api-key": () => { const s = `SG.FAKE${pick(urlsafe, 18)}.${pick(urlsafe, 43)}`; return [`sg = SendGridAPIClient("${s}")`, s]; },
    "twilio-api-key": () => { const s = `SK${pick(hex, 32)}`; return [`client = Client("${s}", api_secret, account_sid)`, s]; },
    "discord-bot-token": () => { const id = Buffer.from(String(100000000000000000 + Math.floor(rnd() * 8e17))).toString("base64").replace(/=+$/, ""); const s = `M${id.slice(1)}.${pick(urlsafe, 6)}.FAKE${pick(urlsafe, 34)}`; return [`bot.run("${s}")`, s]; },
    "export-db-pass": () => { const s = `FAKE${pick(alnum, 12)}`; return [`export DB_PASS=${s}`, s]; },
    "mysql-password-flag": () => { const s = `FAKE${pick(alnum, 10)}`; return [`mysql -u root -p${s} -h db.example.com app < dump.sql`, s]; },
    "curl-user": () => { const s = `FAKE${pick(alnum, 12)}`; return [`curl -u admin:${s} https://api.example.com/v1/items`, s]; },
    "lowercase-bearer": () => { const s = `FAKE${pick(alnum, 28)}`; return [`authorization: bearer ${s}`, s]; }
};

const lines = [
    "# FAKE secrets for test/engine/redact.test.ts: every value below is random, invalid and was never issued.",
    "# Most carry FAKE or EXAMPLE; none grants access to anything. Secret scanners: this whole file is test data.",
    "# Written by scripts/make-fake-secrets.mjs (seeded). Columns: format, text (\\n for a newline), the secret in it.",
];
for (const [format, make] of Object.entries(formats))
    for (let i = 0; i < 50; i++) {
        const [text, secret] = make();
        lines.push([format, text.replaceAll("\n", "\\n"), secret].join("\t"));
    }
fs.writeFileSync(new URL("../test/engine/fixtures/fake-secrets.tsv", import.meta.url), lines.join("\n") + "\n");
console.log(`${lines.length - 3} fake secrets in ${Object.keys(formats).length} formats`);
