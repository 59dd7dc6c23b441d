import type {MemoryModeFactory} from "../MemoryMode.js";
import {pastText} from "../MemoryMode.js";

const reflectionPrompt = "You study past sessions of an assistant and write short, general notes (at most 8 bullet " +
    "points: useful facts, approaches, pitfalls) that help solve the new task. Do not solve the new task.";

/**
 * `reflection`: one extra model call distils the retrieved logs into notes for the system prompt (as Dynamic
 * Cheatsheet), made again only when the logs change; with no logs the last notes stay.
 */
export const reflection: MemoryModeFactory = () => {
    let reflected = {key: "", notes: ""};
    return {
        name: "reflection",
        retrieves: true,
        kv: null, order: "rank",
        async notes(logs, ctx) {
            const key = logs.map((l) => l.id).join(",");
            if (logs.length === 0 || key === reflected.key)
                return reflected.notes;
            const distilled = await ctx.generator.generate(0, ctx.generator.renderChat([
                {role: "system", text: reflectionPrompt},
                {role: "user", text: `New task:\n${ctx.request}\n\nPast sessions:\n${pastText(logs, true)}`}
            ]), {maxTokens: ctx.maxTokensPerRound, signal: ctx.signal});
            ctx.account(distilled);
            reflected = {key, notes: distilled.text.trim()};
            return reflected.notes;
        }
    };
};
