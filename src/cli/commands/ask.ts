import path from "node:path";
import {askModes, defaults, DirectoryToolHost, HindsightError, isModeName, kvVariantFlags, type Reliance, type StaleLog} from "../../engine/index.js";
import {optFlag, optInt, optString, type ParsedArgs} from "../args.js";
import type {CliContext, CommandResult} from "../CliContext.js";
import {withEngine} from "../openEngine.js";

/** The options `ask` and `chat` share: mode, k, rounds, tokens per round, workspace, logging. */
export function askSettings(args: ParsedArgs) {
    const mode = optString(args, "mode") ?? defaults.mode;
    if (!isModeName(mode))
        throw new HindsightError("INVALID_ARGUMENT", `--mode must be one of ${askModes.join(", ")}, or kv / kv-alone followed by +flags from ${kvVariantFlags.join(", ")} (in that order, e.g. kv+sink+near).`);
    return {
        mode,
        k: optInt(args, "k", defaults.k, {min: 0, max: 20}),
        maxRounds: optInt(args, "max-rounds", defaults.maxRounds, {min: 1, max: 20}),
        maxTokensPerRound: optInt(args, "max-tokens", defaults.maxTokensPerRound, {min: 1, max: 8192}),
        workspace: path.resolve(optString(args, "workspace") ?? process.cwd()),
        log: !optFlag(args, "no-log")
    };
}

/** A log's files that changed since its session, for a human: `a.ts, b.ts (deleted)`. */
function staleFiles(stale: StaleLog): string {
    return [...stale.changed, ...stale.deleted.map((file) => `${file} (deleted)`)].join(", ");
}

/**
 * Reused log ids, each stale one followed by `(files changed since: a.ts)`, and with the answer's `reliance` the
 * share of its lines each one held where that is at least 20 % (`62 % of the answer's lines`).
 */
export function describeReused(ids: readonly string[], stale: readonly StaleLog[], reliance: readonly Reliance[] = []): string {
    return ids.map((id) => {
        const found = stale.find((s) => s.logId === id);
        const share = reliance.find((r) => r.logId === id)?.share ?? 0;
        const notes = [
            ...(found != null ? [`files changed since: ${staleFiles(found)}`] : []),
            ...(share >= 0.2 ? [`${Math.round(share * 100)} % of the answer's lines`] : [])
        ];
        return notes.length === 0 ? id : `${id} (${notes.join("; ")})`;
    }).join(", ");
}

/** `hindsight ask "REQUEST" [--workspace DIR] [--mode kv] [--k 3] [--max-rounds N] [--no-log]` */
export async function askCommand(ctx: CliContext, args: ParsedArgs): Promise<CommandResult> {
    const request = args.positionals.join(" ").trim();
    if (request === "")
        throw new HindsightError("INVALID_ARGUMENT", "The request is empty. Usage: hindsight ask \"what to do\" [--workspace DIR].");
    const settings = askSettings(args);
    const {workspace} = settings;

    return withEngine(ctx, args, async (engine) => {
        const result = await engine.ask(request, {
            ...settings,
            tools: new DirectoryToolHost(workspace),
            signal: ctx.signal,
            onText: (text) => ctx.stream(text),
            onEvent: (event) => {
                if (event.type === "retrieved")
                    ctx.info(`\n[reusing ${event.logIds.length} past session(s): ${describeReused(event.logIds, event.stale)}]`);
            }
        });
        const json = {
            answer: result.answer,
            rounds: result.rounds,
            usedLogs: result.usedLogs,
            staleLogs: result.staleLogs,
            reliance: result.reliance,
            logId: result.logId,
            timings: result.timings
        };
        const text = `\n\n${result.usedLogs.length > 0 ? `Reused: ${describeReused(result.usedLogs, result.staleLogs, result.reliance)}\n` : ""}` +
            `${result.logId != null ? `Logged as ${result.logId}\n` : ""}` +
            `(${result.rounds} round(s), first token ${Math.round(result.timings.ttftMs ?? 0)} ms, ${Math.round(result.timings.totalMs)} ms total)`;
        return {json, text};
    });
}
