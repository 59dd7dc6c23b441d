/**
 * The formats `redactSecrets` replaces. Where a format is in gitleaks' default rule set
 * (github.com/gitleaks/gitleaks, config/gitleaks.toml at 420a0f5), the rule names its gitleaks id;
 * the expressions are our own, written from that rule data (prefixes, alphabets, lengths) and checked
 * against the fake-secret corpus in test/engine/fixtures/fake-secrets.tsv. Formats gitleaks does not list
 * there name the vendor's documented format instead. Rules run in this order, so a whole-token rule
 * replaces a token before the assignment rule sees it.
 */

export const REDACTED = "[REDACTED]";

export interface SecretRule {
    /** A gitleaks rule id, or `vendor:<name>` for a format taken from the vendor's documentation. */
    id: string;
    pattern: RegExp;
    /** The replacement, or undefined to keep the match as it is. */
    replace(match: string, ...groups: string[]): string | undefined;
}

const whole = (): string => REDACTED;
/** Keeps the first group (a key, a flag) and replaces the second. */
const keepHead = (_match: string, head: string, value: string): string | undefined =>
    isPlaceholder(value) ? undefined : head + REDACTED;

const SECRET_KEY = String.raw`[A-Za-z0-9_.-]*?(?:password|passwd|passphrase|pwd|[_.-]pass|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|client[_-]?secret|auth[_-]?key|credentials?|_auth)`;

export const SECRET_RULES: readonly SecretRule[] = [
    // Private key blocks, also one cut off before its END line.
    {id: "private-key", pattern: /-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|$)/g, replace: whole},
    {id: "aws-access-token", pattern: /\b(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b/g, replace: whole},
    {id: "github-pat", pattern: /\bgh[pousr]_[A-Za-z0-9]{36,255}\b/g, replace: whole},
    {id: "github-fine-grained-pat", pattern: /\bgithub_pat_[A-Za-z0-9_]{22,255}\b/g, replace: whole},
    // GitLab personal, deploy, runner, pipeline-trigger, CI job, feed, SCIM, OAuth-app and agent tokens.
    {id: "gitlab-pat", pattern: /\bgl(?:pat|dt|rt|ptt|cbt|ft|soat|oas|agent|imt|ffct)-[\w-]{20,300}(?:\.[0-9a-z]{9})?/g, replace: whole},
    // OpenAI / Anthropic style keys.
    {id: "openai-api-key", pattern: /\bsk-(?:[A-Za-z0-9]+-)*[A-Za-z0-9_-]{20,}/g, replace: whole},
    {id: "stripe-access-token", pattern: /\b(?:sk|rk|pk)_(?:live|test|prod)_[A-Za-z0-9]{10,99}\b/g, replace: whole},
    // Stripe webhook signing secrets: `whsec_` and base64.
    {id: "vendor:stripe-webhook-secret", pattern: /\bwhsec_[A-Za-z0-9+/=]{24,}/g, replace: whole},
    // Slack: bot/user/legacy tokens, app-level tokens (xapp, a digit, then three dash-separated parts), webhooks.
    {id: "slack-bot-token", pattern: /\bxox[abposre]-[A-Za-z0-9-]{10,}/g, replace: whole},
    {id: "slack-app-token", pattern: /\bxapp-\d-[A-Z0-9]+-\d+-[a-z0-9]+/gi, replace: whole},
    {id: "slack-webhook-url", pattern: /https:\/\/hooks\.slack\.com\/(?:services|workflows|triggers)\/[A-Za-z0-9/_+-]+/g, replace: whole},
    {id: "gcp-api-key", pattern: /\bAIza[0-9A-Za-z_-]{35}\b/g, replace: whole},
    // Google OAuth client secrets: `GOCSPX-` and 28 characters.
    {id: "vendor:google-oauth-client-secret", pattern: /\bGOCSPX-[A-Za-z0-9_-]{28}(?![A-Za-z0-9_-])/g, replace: whole},
    {id: "npm-access-token", pattern: /\bnpm_[A-Za-z0-9]{36}\b/g, replace: whole},
    {id: "huggingface-access-token", pattern: /\bhf_[A-Za-z0-9]{30,}\b/g, replace: whole},
    {id: "sendgrid-api-token", pattern: /\bSG\.[A-Za-z0-9_-]{16,32}\.[A-Za-z0-9_-]{16,64}/g, replace: whole},
    {id: "twilio-api-key", pattern: /\bSK[0-9a-fA-F]{32}\b/g, replace: whole},
    // Discord bot tokens: base64 of the bot's id, a timestamp, an HMAC (`M…`/`N…`/`O…`, three dot-separated parts).
    {id: "vendor:discord-bot-token", pattern: /\b[MNO][A-Za-z\d_-]{23,27}\.[A-Za-z\d_-]{6}\.[A-Za-z\d_-]{27,38}(?![A-Za-z\d_-])/g, replace: whole},
    {id: "jwt", pattern: /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g, replace: whole},
    // Azure storage / Service Bus connection strings (`AccountKey=`, `SharedAccessKey=`) and SAS signatures (`sig=`).
    {id: "vendor:azure-connection-string-key", pattern: /\b((?:Account|SharedAccess)Key=)([A-Za-z0-9+/]{20,}={0,2})/g, replace: keepHead},
    {id: "vendor:azure-sas-signature", pattern: /([?&;]sig=)([A-Za-z0-9%+/=]{16,})/g, replace: keepHead},
    // `curl -u user:password` (gitleaks curl-auth-user): the password goes.
    {id: "curl-auth-user", pattern: /(\bcurl\b[^\n]*?\s(?:-u|--user)(?:=|[ \t]+)["']?[^\s:"']*:)([^\s"']+)/g, replace: keepHead},
    // `mysql -pPASSWORD` (the password glued to -p; -P is the port).
    {id: "vendor:mysql-password-flag", pattern: /(\bmysql(?:dump|admin|import|sh)?\b[^\n]*?\s-p)([^\s-][^\s]*)/g, replace: keepHead},
    // Passwords in URLs: scheme://[user]:password@host. The password may hold `/` and `@`; it ends at the last `@`
    // before the host. `host:8080/path@x` is a port and a path, not a password.
    {id: "vendor:url-password", pattern: /\b([a-z][a-z0-9+.-]*:\/\/[^\s:@/]*):([^\s]+?)@(?=[^\s@/]*(?:[/\s?#]|$))/gi, replace: (_, prefix, password) =>
        password === REDACTED || isPlaceholder(password) || /^\d+(?:\/|$)/.test(password) ? undefined : `${prefix}:${REDACTED}@`},
    // Authorization headers, any case: Bearer/Basic/token with a long, high-entropy credential.
    {id: "curl-auth-header", pattern: /\b(Bearer|Basic|Token)(\s+)([A-Za-z0-9._~+/-]{16,}=*)/gi, replace: (_, scheme, space, credential) =>
        looksRandom(credential, 3) ? `${scheme}${space}${REDACTED}` : undefined},
    // A bare AWS secret access key: 40 characters of base64, upper, lower and digits, close to random.
    {id: "vendor:aws-secret-access-key", pattern: /(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])/g, replace: (match) =>
        [/[a-z]/, /[A-Z]/, /[0-9]/].every((re) => re.test(match)) && looksRandom(match, 4.2) ? REDACTED : undefined},
    // `password=...`, `api_key: ...`, `"token": "..."`, `export DB_PASS=...`, `_auth=...`: the value goes, the key stays.
    // The bare value is matched atomically (lookahead + backreference) so that `getT0ken()` is not cut back to `getT0ke`.
    {id: "generic-api-key", pattern: new RegExp(String.raw`(["']?\b${SECRET_KEY}\b["']?[ \t]*(?::|=|:=)[ \t]*)(?:"([^"\n]*)"|'([^'\n]*)'|\x60([^\x60\n]*)\x60|(?=([^\s"'\x60,;&(){}\[\]<>]+))\5(?![(\[]))`, "gi"),
        replace: (match, head, double, single, backtick, bare) => {
            const quoted = double ?? single ?? backtick;
            if (quoted != null)
                return isPlaceholder(quoted) ? undefined : head + match.slice(head.length, head.length + 1) + REDACTED + match.slice(-1);

            return bare == null || !looksLikeLiteralSecret(bare, head) ? undefined : head + REDACTED;
        }}
];

/** Values that are not secrets even when assigned to a key named like one. */
function isPlaceholder(value: string): boolean {
    const v = value.trim();
    return v.length < 4 ||
        v.includes(REDACTED) ||
        /^(?:\$\{[^}]*\}|\{\{[^}]*\}\}|\$[A-Z_][A-Z0-9_]*|%[A-Z_]+%|<[^>]*>|\*+|x+|\.{3}|changeme|password|secret|token|your[_-].*|example.*)$/i.test(v);
}

/**
 * An unquoted value counts as a literal secret unless it reads as code: a number, a keyword, or a
 * plain identifier chain (`accessToken`, `process.env.TOKEN`, `string`). A value with a digit or a
 * symbol (`hunter2`, `abc-123`) is a literal, and so is any value of an environment-style line
 * (`DB_PASSWORD=hunter`, `export DB_PASS=hunter`).
 */
function looksLikeLiteralSecret(value: string, head: string): boolean {
    if (isPlaceholder(value))
        return false;
    if (/^[A-Z0-9_]+=$/.test(head))
        return true;
    if (/^-?\d+(?:\.\d+)?$/.test(value))
        return false;
    if (/^(?:true|false|null|nil|none|undefined|string|number|boolean|required|optional)$/i.test(value))
        return false;
    if (/^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*$/.test(value) && !/\d/.test(value))
        return false;
    return true;
}

/** At least `minBits` of entropy per character and a mix of character kinds: a credential, not a word. */
function looksRandom(value: string, minBits: number): boolean {
    const counts = new Map<string, number>();
    for (const char of value)
        counts.set(char, (counts.get(char) ?? 0) + 1);
    let entropy = 0;
    for (const count of counts.values()) {
        const p = count / value.length;
        entropy -= p * Math.log2(p);
    }
    const kinds = [/[a-z]/, /[A-Z]/, /[0-9]/].filter((re) => re.test(value)).length;
    return entropy >= minBits && kinds >= 2;
}
