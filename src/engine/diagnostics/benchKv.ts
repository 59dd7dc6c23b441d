import type {LlamaContextSequence, Token} from "node-llama-cpp";
import {HindsightError, throwIfAborted} from "../errors.js";
import type {KvCacheType} from "../kv/ggml.js";
import {expectedLayout} from "../kv/KvBlob.js";
import {loadStackedLogs, type StoredKv} from "../kv/KvLogCodec.js";
import {encodeTokens, logTextOf, logTokens, type TokenizedLog} from "../kv/logKv.js";
import {kvDataSize} from "../kv/seqState.js";
import type {ModelRuntime} from "../runtime/ModelRuntime.js";
import {mulberry32} from "./prng.js";
import {renderPrompt} from "./verifyKv.js";

/**
 * `hindsight bench kv`: time-to-first-token with past traces given to the model
 *  - as stacked KV logs (stack + load + prompt prefill + first token),
 *  - as text, re-prefilled in full (text-all: every trace, then the prompt),
 *  - as text, last responses only (text-last: what a KV log holds, but recomputed without its context),
 * for k = 1, 3, 5 synthetic traces of ~N tokens each (last response ~N/3); stacking time; stored bytes per token
 * for f16/q8_0/q4_0; and decode speed with 3 logs loaded vs none.
 */
export interface BenchKvOptions {
    /** Tokens per synthetic trace (whole log; the stored last response is about a third). Default 1000. */
    logTokens?: number;
    /** Numbers of logs to stack. Default [1, 3, 5]. */
    ks?: number[];
    /** Tokens generated for the decode-speed figure. Default 32. */
    genTokens?: number;
    /** Runs of each timing; the fastest is kept (the machine may be shared). Default 1. */
    repeat?: number;
    request?: string;
    signal?: AbortSignal;
    onProgress?: (text: string) => void;
}

export interface BenchTtft {
    ttftMs: number;
    /** Tokens prefilled before the first token (prompt included). */
    prefillTokens: number;
}

export interface BenchKvK {
    /** Stored cells stacked in front of the prompt. */
    nCells: number;
    kv: BenchTtft & {buildMs: number, loadMs: number};
    textAll: BenchTtft;
    textLast: BenchTtft;
}

export interface BenchBytes {
    /** Stored bytes per token (blob bytes / cells), or null when the model cannot use the type. */
    bytes: number | null;
    /** "measured" (a real blob of this run) or "layout" (the exact blob size for this model's layout). */
    source?: "measured" | "layout";
    reason?: string;
}

export interface BenchKvResult {
    model: string;
    kvType: KvCacheType;
    threads: number;
    device: string;
    /** Runs per timing (fastest kept). */
    repeat: number;
    logTokens: number;
    promptTokens: number;
    /** Encoding one trace (evaluate it, keep the last response, build the blob), mean per log. */
    encodeMsPerLog: number;
    ttftNoLogsMs: number;
    k: Record<string, BenchKvK>;
    bytesPerToken: Record<"f16" | "q8_0" | "q4_0", BenchBytes>;
    tokensPerSec: {withLogs: number, withoutLogs: number, ratio: number, logs: number, tokens: number};
    ttftRatioKvVsTextAll: Record<string, number>;
}

const defaultRequest = "The nightly job fails after the config refactor. What changed, and what is the smallest fix?";

const words = {
    verbs: ["read", "open", "grep", "patch", "rename", "split", "inline", "test", "revert", "profile", "log", "cache", "validate", "parse"],
    things: ["parser.ts", "the config loader", "utils/strings.py", "the retry loop", "main.go", "the CSV reader", "the cache key",
        "the HTTP client", "the migration", "schema.sql", "the worker pool", "index.tsx", "the date formatter", "Makefile"],
    notes: ["returns undefined when the file is empty", "swallows the timeout error", "uses a global mutable map",
        "compares strings with ==", "sorts with a boolean comparator", "leaks a file handle on error",
        "reads the env var before dotenv loads", "off-by-one on the last page", "double-encodes the URL",
        "mutates its argument", "ignores the exit code", "blocks the event loop"],
    code: ["const rows = text.split(\"\\n\").filter(Boolean);", "if (!cfg.timeout) cfg.timeout = 30;",
        "for i in range(len(items) - 1):", "return a.age - b.age;", "defer f.Close()", "await fs.rm(tmp, {force: true});",
        "assert.equal(parse(\"a,b\"), [\"a\", \"b\"]);", "SELECT id, name FROM users WHERE active = 1;"]
};

/** Coding-flavoured text of about `nTokens` tokens (the text of exactly `nTokens` tokens, tokenized again with the log). */
function syntheticText(runtime: ModelRuntime, nTokens: number, seed: number): string {
    const random = mulberry32(seed);
    const pick = (list: readonly string[]) => list[Math.floor(random() * list.length)]!;
    let text = "";
    let tokens: Token[] = [];
    while (tokens.length < nTokens) {
        for (let i = 0; i < 40; i++)
            text += random() < 0.3
                ? `\n    ${pick(words.code)}\n`
                : `I will ${pick(words.verbs)} ${pick(words.things)}: it ${pick(words.notes)}. `;
        tokens = runtime.model.tokenize(text);
    }
    return runtime.model.detokenize(tokens.slice(0, nTokens)).trim();
}

/** Synthetic two-response logs of about `logTokens` tokens (the last response about a third), tokenized as production does. */
function makeTraces(runtime: ModelRuntime, n: number, logTokensEach: number, contextSize: number): TokenizedLog[] {
    const lastLen = Math.max(1, Math.round(logTokensEach / 3));
    return Array.from({length: n}, (_, i) => {
        const earlier = syntheticText(runtime, Math.max(1, logTokensEach - lastLen), 1000 + 2 * i);
        const last = syntheticText(runtime, lastLen, 1001 + 2 * i);
        const {text, last: lastResponse} = logTextOf([earlier, last]);
        return logTokens(runtime.model, {logText: text, lastResponse}, contextSize);
    });
}

/** Prefills `tokens` (appended to what the sequence holds) and returns when the first new token is sampled. */
async function firstToken(sequence: LlamaContextSequence, tokens: readonly number[]): Promise<number> {
    const gen = sequence.evaluate([...tokens] as Token[], {temperature: 0, yieldEogToken: true});
    const first = await gen.next();
    await gen.return();
    if (first.done)
        throw new HindsightError("INTERNAL", "llama.cpp produced no token.");
    return first.value;
}

/**
 * Decode speed: prompt prefilled, then `n` greedy tokens; tokens/s from the median time between tokens (robust to
 * the stalls of a shared machine).
 */
async function decodeSpeed(sequence: LlamaContextSequence, prompt: readonly number[], n: number): Promise<number> {
    const times: number[] = [];
    for await (const token of sequence.evaluate([...prompt] as Token[], {temperature: 0, yieldEogToken: true})) {
        void token;
        times.push(performance.now());
        if (times.length > n)
            break;
    }
    const gaps = times.slice(1).map((t, i) => t - times[i]!).sort((a, b) => a - b);
    const median = gaps.length % 2 === 1 ? gaps[(gaps.length - 1) / 2]! : (gaps[gaps.length / 2 - 1]! + gaps[gaps.length / 2]!) / 2;
    return 1000 / median;
}

function roundUp(n: number, step: number): number {
    return Math.ceil(n / step) * step;
}

const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;

function bytesPerTokenFor(runtime: ModelRuntime, type: "f16" | "q8_0" | "q4_0", measured: {blob: Uint8Array, nCells: number}): BenchBytes {
    const shape = runtime.shape;
    if ((type === "q8_0" || type === "q4_0") && (shape.headDimK % 64 !== 0 || shape.headDimV % 32 !== 0))
        return {bytes: null, reason: `head size ${shape.headDimK} is not a multiple of 64: llama.cpp crashes shifting ${type} keys`};
    if (type === runtime.options.kvType)
        return {bytes: round(measured.blob.byteLength / measured.nCells), source: "measured"};
    // same blob for another KV type: header (JSON, same length up to the digits of nCells) + data section
    const flashAttention = type === "q8_0" || type === "q4_0" ? true : runtime.options.flashAttention;
    const layout = expectedLayout(runtime.fingerprint.id, shape, type, flashAttention);
    const mine = expectedLayout(runtime.fingerprint.id, shape, runtime.options.kvType, runtime.options.flashAttention);
    const headerBytes = measured.blob.byteLength - kvDataSize(mine.layers, mine.vTrans, measured.nCells);
    const total = headerBytes + kvDataSize(layout.layers, layout.vTrans, measured.nCells);
    return {bytes: round(total / measured.nCells), source: "layout"};
}

export async function benchKv(runtime: ModelRuntime, options: BenchKvOptions = {}): Promise<BenchKvResult> {
    const {signal} = options;
    const progress = options.onProgress ?? ((): void => {});
    const logTokens = options.logTokens ?? 1000;
    const ks = [...new Set(options.ks ?? [1, 3, 5])].sort((a, b) => a - b);
    const genTokens = options.genTokens ?? 32;
    const repeat = Math.max(1, Math.floor(options.repeat ?? 1));
    if (!Number.isInteger(logTokens) || logTokens < 8)
        throw new HindsightError("INVALID_ARGUMENT", "Traces must be at least 8 tokens long.");
    if (ks.length === 0 || ks.some((k) => !Number.isInteger(k) || k < 1))
        throw new HindsightError("INVALID_ARGUMENT", "The numbers of logs to stack must be whole numbers from 1.");
    const maxK = ks[ks.length - 1]!;
    const nGenLogs = Math.min(3, maxK);

    const prompt = await renderPrompt(runtime, options.request ?? defaultRequest);
    const needed = maxK * (logTokens + 8) + prompt.length + genTokens + 16;
    if (needed > runtime.shape.trainContextSize)
        throw new HindsightError("PROMPT_TOO_LONG",
            `${maxK} traces of ${logTokens} tokens and the prompt (${needed} tokens) do not fit the model's context (${runtime.shape.trainContextSize}). Use a smaller --log-tokens.`);
    const context = await runtime.createContext({sequences: 1, contextSize: Math.min(roundUp(needed + 64, 256), runtime.shape.trainContextSize)});
    try {
        const traces = makeTraces(runtime, maxK, logTokens, context.contextSize);
        const seq = context.getSequence();

        // warm-up (first decodes allocate buffers)
        await seq.clearHistory();
        await firstToken(seq, prompt);

        progress(`Encoding ${maxK} synthetic traces of ${logTokens} tokens...`);
        const logs: StoredKv[] = [];
        let encodeMs = 0;
        for (const [i, trace] of traces.entries()) {
            throwIfAborted(signal);
            const t0 = performance.now();
            const e = await encodeTokens(runtime, seq, trace, {signal});
            encodeMs += performance.now() - t0;
            logs.push({id: `bench-${i}`, blob: e.blob, tokens: e.tokens});
        }

        let t0 = 0;
        let ttftNoLogsMs = Infinity;
        for (let r = 0; r < repeat; r++) {
            await seq.clearHistory();
            t0 = performance.now();
            await firstToken(seq, prompt);
            ttftNoLogsMs = Math.min(ttftNoLogsMs, performance.now() - t0);
        }

        const perK: Record<string, BenchKvK> = {};
        const ratios: Record<string, number> = {};
        for (const k of ks) {
            throwIfAborted(signal);
            progress(`k = ${k}: KV stack, text-all, text-last...`);
            const chosen = logs.slice(0, k);

            const all = traces.slice(0, k).flatMap((t) => t.tokens);
            const last = chosen.flatMap((l) => l.tokens);
            let kvMs = Infinity, allMs = Infinity, lastMs = Infinity;
            let st = {nCells: 0, buildMs: Infinity, loadMs: Infinity};
            for (let r = 0; r < repeat; r++) {
                t0 = performance.now();
                const s = await loadStackedLogs(runtime, seq, chosen);
                await firstToken(seq, prompt);
                const ms = performance.now() - t0;
                if (ms < kvMs) {
                    kvMs = ms;
                    st = s;
                }

                await seq.clearHistory();
                t0 = performance.now();
                await firstToken(seq, [...all, ...prompt]);
                allMs = Math.min(allMs, performance.now() - t0);

                await seq.clearHistory();
                t0 = performance.now();
                await firstToken(seq, [...last, ...prompt]);
                lastMs = Math.min(lastMs, performance.now() - t0);
            }

            perK[String(k)] = {
                nCells: st.nCells,
                kv: {ttftMs: round(kvMs), prefillTokens: prompt.length, buildMs: round(st.buildMs), loadMs: round(st.loadMs)},
                textAll: {ttftMs: round(allMs), prefillTokens: all.length + prompt.length},
                textLast: {ttftMs: round(lastMs), prefillTokens: last.length + prompt.length}
            };
            ratios[String(k)] = round(kvMs / allMs, 3);
        }

        progress(`Decode speed, ${genTokens} tokens with ${nGenLogs} logs and without...`);
        let withLogs = 0, withoutLogs = 0;
        for (let r = 0; r < repeat; r++) {
            await loadStackedLogs(runtime, seq, logs.slice(0, nGenLogs));
            withLogs = Math.max(withLogs, await decodeSpeed(seq, prompt, genTokens));
            await seq.clearHistory();
            withoutLogs = Math.max(withoutLogs, await decodeSpeed(seq, prompt, genTokens));
            await seq.clearHistory();
        }

        const measured = {blob: logs[0]!.blob, nCells: logs[0]!.tokens.length};
        return {
            model: runtime.shape.name,
            kvType: runtime.options.kvType,
            threads: runtime.options.threads,
            device: runtime.device,
            repeat,
            logTokens,
            promptTokens: prompt.length,
            encodeMsPerLog: round(encodeMs / logs.length),
            ttftNoLogsMs: round(ttftNoLogsMs),
            k: perK,
            bytesPerToken: {
                f16: bytesPerTokenFor(runtime, "f16", measured),
                q8_0: bytesPerTokenFor(runtime, "q8_0", measured),
                q4_0: bytesPerTokenFor(runtime, "q4_0", measured)
            },
            tokensPerSec: {withLogs: round(withLogs), withoutLogs: round(withoutLogs), ratio: round(withLogs / withoutLogs, 3), logs: nGenLogs, tokens: genTokens},
            ttftRatioKvVsTextAll: ratios
        };
    } finally {
        await context.dispose();
    }
}
