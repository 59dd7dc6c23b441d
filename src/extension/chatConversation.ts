import type {ConversationTurn} from "../engine/index.js";
import type {ChatEntry} from "../shared/protocol.js";

/** Exchanges passed at most (the engine drops older ones anyway when they do not fit; this bounds its work). */
export const MAX_EXCHANGES = 16;

/**
 * The conversation so far, as the engine takes it: each finished exchange of the history (a user entry and the
 * answer with the same id, done, without error, not empty), oldest first. The history holds only what came since
 * the last New Chat (which clears it), so that is where a conversation starts.
 */
export function conversationOf(history: readonly ChatEntry[]): ConversationTurn[] {
    const turns: ConversationTurn[] = [];
    for (let i = 0; i + 1 < history.length; i++) {
        const user = history[i]!;
        const answer = history[i + 1]!;
        if (user.role !== "user" || answer.role !== "assistant" || answer.id !== user.id)
            continue;
        if (answer.done && answer.error == null && answer.text.trim() !== "" && user.text.trim() !== "")
            turns.push({role: "user", text: user.text}, {role: "assistant", text: answer.text});
        i++;
    }
    return turns.slice(-2 * MAX_EXCHANGES);
}

/** The logs the conversation's own answers left (already in the prompt as text: not to be retrieved again). */
export function conversationLogIds(history: readonly ChatEntry[]): string[] {
    return history.flatMap((e) => e.role === "assistant" && e.logId != null ? [e.logId] : []);
}
