import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import {fileURLToPath} from "node:url";
import {DEFAULT_EXCLUDE_GLOBS, ExcludeGlobs, excludeGlobProblems, isExcludedPath, redactSecrets} from "../../src/engine/redact.js";

describe("isExcludedPath", function () {
    it("excludes the usual secret files at any depth", function () {
        for (const file of [".env", ".env.local", "src/.env.production", ".envrc", "certs/server.pem", "deploy/tls.key", "a/b/id_rsa", "id_ed25519.pub",
            "config/credentials.json", "aws_credentials", ".git-credentials", "secrets.yaml", "keystore.p12", ".npmrc", ".netrc", "home/.ssh/config",
            ".aws/config", "infra/terraform.tfstate", ".docker/config.json", "sub/.docker/config.json", "KEYS/PROD.PEM"])
            assert.equal(isExcludedPath(file, DEFAULT_EXCLUDE_GLOBS), true, file);
    });

    it("keeps ordinary source files", function () {
        for (const file of ["src/app.ts", "README.md", "environment.ts", "src/env.ts", "key.ts", "monkey", "src/keys.ts", "docs/secrets-management.md",
            "pem/readme.txt", "config.json", "docker/config.json", "tokenizer.json"])
            assert.equal(isExcludedPath(file, DEFAULT_EXCLUDE_GLOBS), false, file);
    });

    it("uses the default globs when none are given and accepts Windows separators", function () {
        assert.equal(isExcludedPath("src\\config\\.env"), true);
        assert.equal(isExcludedPath("./.npmrc"), true);
        assert.equal(isExcludedPath(""), false);
    });

    it("matches custom globs: anchored with a slash, any segment without", function () {
        assert.equal(isExcludedPath("build/out/a.js", ["build/"]), true);
        assert.equal(isExcludedPath("src/build/a.js", ["/build"]), false);
        assert.equal(isExcludedPath("src/build/a.js", ["build"]), true);
        assert.equal(isExcludedPath("a/b/c/secret.txt", ["a/**/secret.txt"]), true);
        assert.equal(isExcludedPath("a/secret.txt", ["a/**/secret.txt"]), true);
        assert.equal(isExcludedPath("b/a/secret.txt", ["a/**/secret.txt"]), false);
        assert.equal(isExcludedPath("src/x.ts", ["# a comment", "", "   "]), false);
    });

    it("matches *, ?, ** and character classes, treating regex characters literally", function () {
        // Anchored globs (a leading slash), so each one is matched against the whole path.
        const m = (glob: string, file: string) => isExcludedPath(file, [`/${glob}`]);
        assert.equal(m("*.ts", "a.ts"), true);
        assert.equal(m("*.ts", "a/b.ts"), false);
        assert.equal(m("**.ts", "a/b.ts"), false); // VS Code: `**` spans segments only as a whole segment
        assert.equal(m("**/*.ts", "a/b.ts"), true);
        assert.equal(m("file?.txt", "file1.txt"), true);
        assert.equal(m("file?.txt", "file12.txt"), false);
        assert.equal(m("log[0-9].txt", "log7.txt"), true);
        assert.equal(m("log[!0-9].txt", "log7.txt"), false);
        assert.equal(m("log[!0-9].txt", "logx.txt"), true);
        assert.equal(m("log[^0-9].txt", "logx.txt"), true);
        assert.equal(m("a+b(c).txt", "a+b(c).txt"), true);
        assert.equal(m("a+b(c).txt", "a+bc.txt"), false);
        assert.equal(m("a.b", "axb"), false);
        assert.equal(m("[abc", "[abc"), true);
        assert.equal(m("$^{x}|y", "$^{x}|y"), true);
        assert.equal(m("$^{x}|y", "y"), false);
        assert.equal(m("@(a|b)", "a"), false);
    });

    it("expands braces, also across slashes and nested (**/*.{pem,key} excludes a/b.pem)", function () {
        assert.equal(isExcludedPath("a/b.pem", ["**/*.{pem,key}"]), true);
        assert.equal(isExcludedPath("a/b.key", ["**/*.{pem,key}"]), true);
        assert.equal(isExcludedPath("a/b.txt", ["**/*.{pem,key}"]), false);
        assert.equal(isExcludedPath("deploy/x.crt", ["{**/*.html,deploy/*.{crt,csr}}"]), true);
        assert.equal(isExcludedPath("src/x.crt", ["{**/*.html,deploy/*.{crt,csr}}"]), false);
        assert.equal(isExcludedPath("docs/a.html", ["{**/*.html,deploy/*.{crt,csr}}"]), true);
        assert.equal(isExcludedPath("conf/prod.yaml", ["conf/{prod,staging}.yaml"]), true);
        assert.equal(isExcludedPath("CONF/Prod.YAML", ["conf/{prod,staging}.yaml"]), true);
    });

    it("takes paths back out with ! globs, in any order, and reads \\ as a separator", function () {
        const globs = ["!.env.example", ".env*"];
        assert.equal(isExcludedPath(".env", globs), true);
        assert.equal(isExcludedPath("app/.env.local", globs), true);
        assert.equal(isExcludedPath("app/.env.example", globs), false);
        assert.equal(isExcludedPath("!x", ["!x"]), false); // a ! glob alone excludes nothing
        assert.equal(isExcludedPath("keys/a.pem", ["keys\\*.pem"]), true);
        assert.equal(isExcludedPath("keys\\a.pem", ["keys/*.pem"]), true);
    });

    it("reports bad globs when the settings are read and never throws when matching", function () {
        const globs = ["[z-a]", "*.pem", "*a*a*a*b", "{" + "a,".repeat(20) + "b}/{" + "c,".repeat(20) + "d}", "!"];
        const problems = excludeGlobProblems(globs);
        assert.deepEqual(problems.map((p) => p.glob), ["[z-a]", "*a*a*a*b", globs[3], "!"]);
        assert.match(problems[0]!.reason, /not a valid pattern.*Range out of order/);
        assert.match(problems[1]!.reason, /4 runs of \*/);
        assert.match(problems[2]!.reason, /more than 256 alternatives/);
        assert.doesNotThrow(() => isExcludedPath("b", globs));
        assert.equal(isExcludedPath("b", globs), false);
        assert.equal(isExcludedPath("x/y.pem", globs), true); // the good globs still apply
        assert.deepEqual(excludeGlobProblems(DEFAULT_EXCLUDE_GLOBS), []);
    });

    it("does not backtrack for seconds on many-star globs and crafted paths", function () {
        const path = "a/".repeat(500) + "c";
        const name = "a".repeat(255);
        const started = performance.now();
        assert.equal(ExcludeGlobs.compile(["**/a/**/a/**/a/**/a/**/b"]).matches(path), false);
        assert.equal(ExcludeGlobs.compile(["**/a*/**/a*/**/a*/**/b"]).matches(path), false);
        assert.equal(ExcludeGlobs.compile(["*a*a*b"]).matches(`x/${name}`), false);
        assert.equal(ExcludeGlobs.compile(["x"]).matches("a".repeat(300)), true); // not a real file name: excluded
        const elapsed = performance.now() - started;
        assert.ok(elapsed < 1000, `took ${elapsed.toFixed(0)} ms`);
    });

    it("excludes the credentials files the defaults name (issue 13 item 8)", function () {
        for (const file of [".git/config", "vendor/lib/.git/config", "AuthKey_ABC123.p8", "gcp/my-service-account.json",
            "serviceAccountKey.json", "service_account_prod.json", ".vault-token", "home/.kube/config", "kubeconfig", "kubeconfig.yaml",
            ".config/gh/hosts.yml", ".azure/accessTokens.json", "putty/server.ppk", "vpn/office.ovpn", ".bash_history",
            ".zsh_history", ".python_history", "api/local.settings.json"])
            assert.equal(isExcludedPath(file, DEFAULT_EXCLUDE_GLOBS), true, file);
        for (const file of [".git/HEAD", ".github/workflows/ci.yml", "src/history.ts", "gh/readme.md", "account.json", "settings.json"])
            assert.equal(isExcludedPath(file, DEFAULT_EXCLUDE_GLOBS), false, file);
    });
});

describe("redactSecrets", function () {
    const secrets: [string, string][] = [
        ["AWS key", "the key AKIAIOSFODNN7EXAMPLE is here"],
        ["GitHub classic token", "ghp_" + "aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dF3hJ5"],
        ["GitHub fine-grained token", "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz"],
        ["OpenAI key", "use sk-proj-abcdefghijklmnopqrstuvwx1234 now"],
        ["Slack token", "xoxb-123456789012-abcdefghijkl"],
        ["JWT", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"],
        ["bearer token", "Authorization: Bearer 8f3kD92hfL0qpZx7Wm4Rt1YbNc6Vs"]
    ];
    for (const [name, text] of secrets)
        it(`replaces a ${name}`, function () {
            const result = redactSecrets(text);
            assert.equal(result.count, 1);
            assert.ok(result.text.includes("[REDACTED]"), result.text);
            const secret = text.match(/[A-Za-z0-9_-]{16,}/)![0];
            assert.ok(!result.text.includes(secret), result.text);
        });

    it("replaces whole private key blocks, also cut-off ones", function () {
        const pem = "before\n-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\nqwerty\n-----END RSA PRIVATE KEY-----\nafter";
        assert.deepEqual(redactSecrets(pem), {text: "before\n[REDACTED]\nafter", count: 1});
        const cut = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA";
        assert.deepEqual(redactSecrets(cut), {text: "[REDACTED]", count: 1});
        const publicKey = "-----BEGIN PUBLIC KEY-----\nMFkwEwYH\n-----END PUBLIC KEY-----";
        assert.deepEqual(redactSecrets(publicKey), {text: publicKey, count: 0});
    });

    it("replaces the values of secret assignments and keeps the keys", function () {
        const cases: [string, string][] = [
            ["password=hunter2 next", "password=[REDACTED] next"],
            [`password = "correct horse"`, `password = "[REDACTED]"`],
            ["api_key: abc123def", "api_key: [REDACTED]"],
            [`{"token": "s3cr3t-value", "name": "x"}`, `{"token": "[REDACTED]", "name": "x"}`],
            ["DB_PASSWORD=supersecret", "DB_PASSWORD=[REDACTED]"],
            ["client_secret: 'a1b2c3d4'", "client_secret: '[REDACTED]'"],
            ["https://api.example.com/x?token=abcd1234&page=2", "https://api.example.com/x?token=[REDACTED]&page=2"],
            ["postgres://admin:s3cret@db.local:5432/app", "postgres://admin:[REDACTED]@db.local:5432/app"]
        ];
        for (const [input, expected] of cases)
            assert.deepEqual(redactSecrets(input), {text: expected, count: 1}, input);
    });

    it("leaves code that only names secrets alone", function () {
        for (const code of ["const token = getToken();", "const apiKey = process.env.API_KEY;", "password: string;", "password?: string",
            "max_tokens = 512", "tokenizer = new Tokenizer()", `eos_token: "</s>"`, "Bearer tokens are short-lived.", "token = tok3n(x)",
            "api_key = os.environ['API_KEY']", "password = ${DB_PASSWORD}", "secret: <your secret here>", "nTokens: 42",
            "const lastToken = tokens[i];", "ghp_short"])
            assert.deepEqual(redactSecrets(code), {text: code, count: 0}, code);
    });

    it("counts every replacement and does not redact twice", function () {
        const text = "a=1 GITHUB_TOKEN=ghp_aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dF3hJ5\npassword=hunter2\nkey AKIAIOSFODNN7EXAMPLE";
        const once = redactSecrets(text);
        assert.equal(once.count, 3);
        assert.equal(once.text, "a=1 GITHUB_TOKEN=[REDACTED]\npassword=[REDACTED]\nkey [REDACTED]");
        assert.deepEqual(redactSecrets(once.text), {text: once.text, count: 0});
    });

    it("replaces a FAKE secret of every format in the corpus (test/engine/fixtures/fake-secrets.tsv)", function () {
        const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
        const rows = fs.readFileSync(path.join(root, "test/engine/fixtures/fake-secrets.tsv"), "utf8").split("\n")
            .filter((line) => line !== "" && !line.startsWith("#")).map((line) => line.split("\t") as [string, string, string]);
        const formats = new Map<string, number>();
        const leaks: string[] = [];
        for (const [format, escaped, secret] of rows) {
            formats.set(format, (formats.get(format) ?? 0) + 1);
            const result = redactSecrets(escaped.replaceAll("\\n", "\n"));
            // No piece of the secret survives (`p@ss@host` must not leave `ss`).
            const pieces = secret.split(/[@/:]|%2[BF]|%3D/).filter((piece) => piece.length >= 4);
            if (result.count === 0 || !result.text.includes("[REDACTED]") || pieces.some((piece) => result.text.includes(piece)))
                leaks.push(`${format}: ${result.text}`);
        }
        assert.equal(formats.size, 18);
        assert.ok([...formats.values()].every((n) => n === 50));
        assert.deepEqual(leaks, []);
    });

    it("redacts the password of user:p@ss@host whole, and keeps ports, paths and digests", function () {
        assert.deepEqual(redactSecrets("https://user:p@ss@host/x"), {text: "https://user:[REDACTED]@host/x", count: 1});
        assert.deepEqual(redactSecrets("redis://:s3cr3t@cache:6379"), {text: "redis://:[REDACTED]@cache:6379", count: 1});
        for (const text of ["https://example.com:443/users/@me", "docker pull localhost:5000/img@sha256:0123abcd", "mysql -u root -P3306 -p db",
            "git checkout 4f9d2c1a0b8e7f6d5c4b3a2918273645aabbccdd", "curl -u admin https://x", "return token(bearer)",
            "const re = /[A-Za-z0-9+/]{40}/;", "postgres://user:${DB_PASSWORD}@db/app"])
            assert.deepEqual(redactSecrets(text), {text, count: 0}, text);
    });
});
