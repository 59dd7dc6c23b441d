/**
 * Keeping secrets out of logs. A log is stored for good and replayed into later prompts, so files
 * that usually hold secrets are never read into a task (`isExcludedPath`, in excludeGlobs.ts), and text
 * that is stored has obvious secrets replaced by `[REDACTED]` (`redactSecrets`, rules in secretRules.ts).
 *
 * Both err towards leaving code readable: `redactSecrets` replaces values that look like credentials,
 * not every assignment to a variable called `token`.
 */
import {SECRET_RULES} from "./secretRules.js";

export {REDACTED} from "./secretRules.js";
export {DEFAULT_EXCLUDE_GLOBS, ExcludeGlobs, excludeGlobProblems, isExcludedPath} from "./excludeGlobs.js";
export type {GlobProblem} from "./excludeGlobs.js";

/** Replaces obvious secrets in `text` with `[REDACTED]` and says how many were replaced. */
export function redactSecrets(text: string): {text: string, count: number} {
    let count = 0;
    for (const rule of SECRET_RULES)
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
