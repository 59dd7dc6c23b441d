import path from "node:path";
import {HindsightError, LOG_OUTCOMES, StoreError, type LogOutcome, type LogStore} from "../../engine/index.js";
import {optFlag, optString, type ParsedArgs} from "../args.js";
import type {CliContext, CommandResult} from "../CliContext.js";
import {openStore, withEngine} from "../openEngine.js";

const usage = "Usage: hindsight logs list | show ID | rm ID | mark ID --outcome accepted|rejected | export FILE | import FILE [--trust-kv] | reencode";

async function withStore<T>(ctx: CliContext, job: (store: LogStore) => Promise<T>): Promise<T> {
    const store = await openStore(ctx);
    try {
        return await job(store);
    } finally {
        store.close();
    }
}

function needArg(args: ParsedArgs, what: string): string {
    const value = args.positionals[1];
    if (value == null || value.trim() === "")
        throw new HindsightError("INVALID_ARGUMENT", `Missing ${what}. ${usage}`);
    return value;
}

/** `hindsight logs ...`: list, inspect, forget, grade, move and re-encode past sessions. */
export async function logsCommand(ctx: CliContext, args: ParsedArgs): Promise<CommandResult> {
    const sub = args.positionals[0] ?? "list";
    switch (sub) {
        case "list": return withStore(ctx, async (store) => {
            const logs = await store.listLogs();
            const rows = await Promise.all(logs.map(async (log) => {
                const kv = await store.kvInfo(log.id);
                return {
                    id: log.id,
                    task: log.task,
                    createdAt: log.createdAt,
                    outcome: log.outcome,
                    nTokens: log.nTokens,
                    kvBytes: kv.reduce((n, k) => n + k.bytes, 0),
                    fingerprint: kv[0]?.fingerprint ?? null
                };
            }));
            const text = rows.length === 0
                ? "No logs yet. Every `hindsight ask` adds one."
                : rows.map((r) => `${r.id}  ${r.createdAt.slice(0, 19)}  ${r.outcome.padEnd(12)} ${String(r.nTokens).padStart(5)} tok  ${r.task.slice(0, 60)}`).join("\n");
            return {json: rows, text};
        });
        case "show": return withStore(ctx, async (store) => {
            const id = needArg(args, "log id");
            const log = await store.getLog(id);
            if (log == null)
                throw new StoreError("LOG_NOT_FOUND", `No log with id ${id}. Run \`hindsight logs list\` to see the ids.`);
            const kv = await store.kvInfo(id);
            return {
                json: {...log, kv},
                text: `Task: ${log.task}\nWhen: ${log.createdAt}\nOutcome: ${log.outcome}\nWorkspace: ${log.workspace}\n\n${log.logText}`
            };
        });
        case "rm": return withStore(ctx, async (store) => {
            const id = needArg(args, "log id");
            if (!await store.deleteLog(id))
                throw new StoreError("LOG_NOT_FOUND", `No log with id ${id}. Run \`hindsight logs list\` to see the ids.`);
            return {json: {removed: id}, text: `Forgot ${id}.`};
        });
        case "mark": return withStore(ctx, async (store) => {
            const id = needArg(args, "log id");
            const outcome = optString(args, "outcome") as LogOutcome | undefined;
            if (outcome == null || !LOG_OUTCOMES.includes(outcome))
                throw new HindsightError("INVALID_ARGUMENT", `--outcome must be one of ${LOG_OUTCOMES.join(", ")}.`);
            if (await store.getLog(id) == null)
                throw new StoreError("LOG_NOT_FOUND", `No log with id ${id}. Run \`hindsight logs list\` to see the ids.`);
            await store.setOutcome(id, outcome);
            return {json: {id, outcome}, text: `Marked ${id} as ${outcome}.`};
        });
        case "export": return withStore(ctx, async (store) => {
            const file = path.resolve(needArg(args, "file"));
            const count = await store.exportTo(file);
            return {json: {file, count}, text: `Exported ${count} log(s) to ${file}.`};
        });
        case "import": return withStore(ctx, async (store) => {
            const file = path.resolve(needArg(args, "file"));
            const trustKv = optFlag(args, "trust-kv");
            const result = await store.importFrom(file, trustKv ? {keepKv: {acceptRisk: true}} : {});
            const kv = trustKv
                ? `Kept the file's ${result.kvKept} KV cache(s) as they are (--trust-kv).`
                : result.kvDropped > 0
                    ? `Dropped the file's ${result.kvDropped} KV cache(s): each log is encoded from its own text when it is first reused ` +
                        "(or now, with `hindsight logs reencode`). Pass --trust-kv to keep them from a file you trust."
                    : "";
            return {
                json: {file, count: result.added, ...result, kv: trustKv ? "kept" : "dropped"},
                text: `Imported ${result.added} log(s) from ${file}${result.skipped > 0 ? ` (${result.skipped} already in the store)` : ""}. ${kv}`.trim()
            };
        });
        case "reencode": return withEngine(ctx, args, async (engine) => {
            const result = await engine.reencodeAll((done, total) => ctx.info(`re-encoding ${done}/${total}`), ctx.signal);
            return {json: {...result, fingerprint: engine.runtime.fingerprint.id},
                text: `Encoded ${result.encoded} of ${result.total} log(s) for ${engine.runtime.fingerprint.id}; embedded ${result.embedded} for retrieval.`};
        });
        default:
            throw new HindsightError("INVALID_ARGUMENT", `Unknown logs command "${sub}". ${usage}`);
    }
}
