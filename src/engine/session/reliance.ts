import type {LogRecord} from "../store/index.js";

/** How much of an answer one reused past session already held. */
export interface Reliance {
    logId: string;
    /** Share (0..1) of the answer's substantive lines found, whitespace aside, in that session's last response. */
    share: number;
}

/** A line worth comparing: trimmed, inner whitespace collapsed, at least 8 characters and not only punctuation. */
function substantive(text: string): string[] {
    return text.split("\n")
        .map((line) => line.trim().replace(/\s+/g, " "))
        .filter((line) => line.length >= 8 && /[\p{L}\p{N}]/u.test(line) && !/^```/.test(line));
}

/**
 * For each reused log (in the given order), the share of the answer's substantive lines that appear in its last
 * response: a cheap, model-free sign of which past session an answer leaned on, and of an answer copied from one
 * (a share near 1 where the task changed is the failure to look for). An answer without such lines gives 0s.
 */
export function relianceOf(answer: string, logs: readonly Pick<LogRecord, "id" | "lastResponse">[]): Reliance[] {
    const lines = substantive(answer);
    return logs.map((log) => {
        if (lines.length === 0)
            return {logId: log.id, share: 0};
        const past = new Set(substantive(log.lastResponse));
        return {logId: log.id, share: lines.filter((l) => past.has(l)).length / lines.length};
    });
}
