/**
 * Keeping secrets out of logs. A log is stored for good and replayed into later prompts, so files
 * that usually hold secrets are never read into a task (`isExcludedPath`, in excludeGlobs.ts), and text
 * that is stored has obvious secrets replaced by `[REDACTED]` (`redactSecrets`).
 *
 * Both are deliberately simple and err towards leaving code readable: `redactSecrets` replaces
 * values that look like credentials, not every assignment to a variable called `token`.
 */

export const REDACTED = "[REDACTED]";

export {DEFAULT_EXCLUDE_GLOBS, ExcludeGlobs, excludeGlobProblems, isExcludedPath} from "./excludeGlobs.js";
export type {GlobProblem} from "./excludeGlobs.js";

interface Rule {
    pattern: RegExp;
    /** Returns the replacement, or undefined to keep the match as it is. */
    replace(match: string, ...groups: string[]): string | undefined;
}

const whole = (): string => REDACTED;

const SECRET_KEY = String.raw`[A-Za-z0-9_.-]*?(?:password|passwd|passphrase|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|client[_-]?secret|auth[_-]?key|credentials?)`;

const RULES: readonly Rule[] = [
    // Private key blocks, also one cut off before its END line.
    {pattern: /-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|$)/g, replace: whole},
    // AWS access key ids.
    {pattern: /\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b/g, replace: whole},
    // GitHub tokens.
    {pattern: /\bgh[pousr]_[A-Za-z0-9]{36,255}\b/g, replace: whole},
    {pattern: /\bgithub_pat_[A-Za-z0-9_]{22,255}\b/g, replace: whole},
    // OpenAI / Anthropic style keys, Stripe keys.
    {pattern: /\bsk-(?:[A-Za-z0-9]+-)*[A-Za-z0-9_-]{20,}/g, replace: whole},
    {pattern: /\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}\b/g, replace: whole},
    // Slack tokens and webhooks.
    {pattern: /\bxox[abposre]-[A-Za-z0-9-]{10,}/g, replace: whole},
    {pattern: /https:\/\/hooks\.slack\.com\/services\/[A-Za-z0-9/_-]+/g, replace: whole},
    // Google API keys, npm and Hugging Face tokens.
    {pattern: /\bAIza[0-9A-Za-z_-]{35}\b/g, replace: whole},
    {pattern: /\bnpm_[A-Za-z0-9]{36}\b/g, replace: whole},
    {pattern: /\bhf_[A-Za-z0-9]{30,}\b/g, replace: whole},
    // JSON Web Tokens.
    {pattern: /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g, replace: whole},
    // Passwords in URLs: scheme://user:password@host.
    {pattern: /\b([a-z][a-z0-9+.-]*:\/\/[^\s:@/]+):([^\s@/]+)@/gi, replace: (_, prefix, password) =>
        password === REDACTED ? undefined : `${prefix}:${REDACTED}@`},
    // Authorization headers: Bearer/Basic/token with a long, high-entropy credential.
    {pattern: /\b(Bearer|Basic|Token)(\s+)([A-Za-z0-9._~+/-]{16,}=*)/g, replace: (match, scheme, space, credential) =>
        looksRandom(credential) ? `${scheme}${space}${REDACTED}` : undefined},
    // `password=...`, `api_key: ...`, `"token": "..."`: the value is replaced, the key kept.
    // The bare value is matched atomically (lookahead + backreference) so that `getT0ken()` is not cut back to `getT0ke`.
    {pattern: new RegExp(String.raw`(["']?\b${SECRET_KEY}\b["']?[ \t]*(?::|=|:=)[ \t]*)(?:"([^"\n]*)"|'([^'\n]*)'|\x60([^\x60\n]*)\x60|(?=([^\s"'\x60,;&(){}\[\]<>]+))\5(?![(\[]))`, "gi"),
        replace: (match, head, double, single, backtick, bare) => {
            const quoted = double ?? single ?? backtick;
            if (quoted != null)
                return isPlaceholder(quoted) ? undefined : head + match.slice(head.length, head.length + 1) + REDACTED + match.slice(-1);

            return bare == null || !looksLikeLiteralSecret(bare, head) ? undefined : head + REDACTED;
        }}
];

/** Replaces obvious secrets in `text` with `[REDACTED]` and says how many were replaced. */
export function redactSecrets(text: string): {text: string, count: number} {
    let count = 0;
    for (const rule of RULES)
        text = text.replace(rule.pattern, (match: string, ...rest: unknown[]) => {
            // `rest` ends with the offset and the whole string; the groups come before them.
            const groups = rest.slice(0, -2) as string[];
            const replacement = rule.replace(match, ...groups);
            if (replacement == null || replacement === match)
                return match;

            count++;
            return replacement;
        });
    return {text, count};
}

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
 * (`DB_PASSWORD=hunter`).
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

/** At least 3 bits of entropy per character and a mix of character kinds: a credential, not a word. */
function looksRandom(value: string): boolean {
    const counts = new Map<string, number>();
    for (const char of value)
        counts.set(char, (counts.get(char) ?? 0) + 1);
    let entropy = 0;
    for (const count of counts.values()) {
        const p = count / value.length;
        entropy -= p * Math.log2(p);
    }
    const kinds = [/[a-z]/, /[A-Z]/, /[0-9]/].filter((re) => re.test(value)).length;
    return entropy >= 3 && kinds >= 2;
}
