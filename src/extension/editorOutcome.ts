import type {LogOutcome} from "../engine/index.js";

/**
 * What an editor action on an answer's code (apply to file, insert at cursor, discard, undo) does to its log's
 * outcome: the new outcome, or null to leave it. Using the code marks the log accepted, but never over a
 * rejection: a thumbs-down (or a discarded or undone edit) still wins. A rejection from the editor always counts.
 */
export function editorOutcome(current: LogOutcome | undefined, signal: "accepted" | "rejected"): "accepted" | "rejected" | null {
    if (current === signal)
        return null;
    if (signal === "accepted" && current === "rejected")
        return null;
    return signal;
}
