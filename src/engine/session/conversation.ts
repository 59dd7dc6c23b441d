/** One earlier turn of a conversation: what the user asked, or what the assistant answered. */
export interface ConversationTurn {
    role: "user" | "assistant";
    text: string;
}

/** Characters of the previous request kept in front of a follow-up's log task. */
const PREVIOUS_REQUEST_CHARS = 160;

/**
 * The conversation without its oldest exchange: the first turn and the assistant turns right after it (a user turn
 * and its answer; a conversation that starts with an answer loses that answer alone).
 */
export function dropOldestExchange(turns: readonly ConversationTurn[]): ConversationTurn[] {
    let i = turns.length > 0 ? 1 : 0;
    while (i < turns.length && turns[i]!.role === "assistant")
        i++;
    return turns.slice(i);
}

/**
 * Fits a prompt into its budget: `build` renders a candidate from the conversation and logs left and says whether it
 * fits. While it does not, the oldest exchange of the conversation is dropped first, then the lowest-ranked (last)
 * log; the current request is never dropped, so with nothing left to drop the last candidate is returned as is.
 */
export async function fitPrompt<L, P>(conversation: readonly ConversationTurn[], logs: readonly L[],
    build: (conversation: readonly ConversationTurn[], logs: readonly L[]) => Promise<{fits: boolean, value: P}>
): Promise<{conversation: readonly ConversationTurn[], logs: readonly L[], value: P}> {
    for (;;) {
        const {fits, value} = await build(conversation, logs);
        if (fits || (conversation.length === 0 && logs.length === 0))
            return {conversation, logs, value};
        if (conversation.length > 0)
            conversation = dropOldestExchange(conversation);
        else
            logs = logs.slice(0, -1);
    }
}

/**
 * The task a turn's log is stored under, so that it stands alone: the request, preceded (in a conversation) by the
 * previous user request, shortened to its first 160 characters.
 */
export function standaloneTask(request: string, conversation: readonly ConversationTurn[] | undefined): string {
    const previous = [...conversation ?? []].reverse().find((t) => t.role === "user")?.text.trim().replace(/\s+/g, " ");
    if (previous == null || previous === "")
        return request;
    const short = previous.length > PREVIOUS_REQUEST_CHARS ? `${previous.slice(0, PREVIOUS_REQUEST_CHARS - 1)}…` : previous;
    return `(after "${short}") ${request}`;
}
