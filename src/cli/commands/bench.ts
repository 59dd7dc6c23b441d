import {HindsightError} from "../../engine/index.js";
import {benchKv, type BenchKvResult} from "../../engine/index.js";
import {optInt, optString, type ParsedArgs} from "../args.js";
import type {CliContext, CommandResult} from "../CliContext.js";
import {loadCliRuntime} from "./verifyKv.js";

/**
 * `hindsight bench kv [--json] [--log-tokens 1000] [--ks 1,3,5] [--gen-tokens 32] [--repeat 1] [--kv-type f16] [--threads N]`:
 * time-to-first-token with traces stacked as KV logs vs re-read as text, stacking time, stored bytes per token,
 * decode speed with and without logs.
 */
export async function benchCommand(ctx: CliContext, args: ParsedArgs): Promise<CommandResult> {
    const what = args.positionals[0];
    if (what !== "kv")
        throw new HindsightError("INVALID_ARGUMENT", what == null
            ? "Say what to benchmark: `hindsight bench kv`."
            : `Unknown benchmark "${what}". Use \`hindsight bench kv\`.`);
    if (args.positionals.length > 1)
        throw new HindsightError("INVALID_ARGUMENT", `Unexpected argument "${args.positionals[1]}" after \`bench kv\`.`);
    const logTokens = optInt(args, "log-tokens", 1000, {min: 8, max: 100_000});
    const genTokens = optInt(args, "gen-tokens", 32, {min: 1, max: 4096});
    const repeat = optInt(args, "repeat", 1, {min: 1, max: 100});
    const ksRaw = optString(args, "ks") ?? "1,3,5";
    const ks = ksRaw.split(",").map((s) => Number(s.trim()));
    if (ks.some((k) => !Number.isInteger(k) || k < 1 || k > 64))
        throw new HindsightError("INVALID_ARGUMENT", `--ks must be a comma-separated list of whole numbers from 1 to 64 (got "${ksRaw}").`);

    const runtime = await loadCliRuntime(ctx, args, {kvType: "f16"});
    let result: BenchKvResult;
    try {
        ctx.info(`Benchmarking KV logs on ${runtime.shape.name} (${runtime.options.kvType} KV, ${runtime.device}, ${runtime.options.threads} threads)...`);
        result = await benchKv(runtime, {logTokens, ks, genTokens, repeat, signal: ctx.signal, onProgress: (t) => ctx.info(t)});
    } finally {
        await runtime.dispose();
    }
    return {json: result, text: render(result)};
}

function render(r: BenchKvResult): string {
    const lines = [`${r.model}, ${r.kvType} KV, ${r.device}, ${r.threads} threads; traces of ${r.logTokens} tokens, prompt ${r.promptTokens} tokens, fastest of ${r.repeat}`,
        `time to first token (ms): no logs ${r.ttftNoLogsMs}`,
        "  k   cells   KV (build+load)        text-all (tokens)    text-last (tokens)   KV/text-all"];
    for (const [k, v] of Object.entries(r.k))
        lines.push(`  ${k.padEnd(3)} ${String(v.nCells).padEnd(7)} ${`${v.kv.ttftMs} (${v.kv.buildMs}+${v.kv.loadMs})`.padEnd(22)} ` +
            `${`${v.textAll.ttftMs} (${v.textAll.prefillTokens})`.padEnd(20)} ${`${v.textLast.ttftMs} (${v.textLast.prefillTokens})`.padEnd(20)} ` +
            `${r.ttftRatioKvVsTextAll[k]}`);
    lines.push(`encoding one trace: ${r.encodeMsPerLog} ms`);
    lines.push("stored bytes per token: " + Object.entries(r.bytesPerToken)
        .map(([t, b]) => `${t} ${b.bytes ?? `n/a (${b.reason})`}`).join(", "));
    lines.push(`decode: ${r.tokensPerSec.withLogs} tokens/s with ${r.tokensPerSec.logs} logs, ${r.tokensPerSec.withoutLogs} without (ratio ${r.tokensPerSec.ratio})`);
    return lines.join("\n");
}
