import fs from "node:fs/promises";
import type {LlamaContextSequence, Token} from "node-llama-cpp";
import {HindsightError, throwIfAborted} from "../errors.js";
import {decodeKvBlob} from "../kv/KvBlob.js";
import {expectedLayoutFor, loadSequenceState, loadStackedLogs, stackViaLlamaShift, type StoredKv} from "../kv/KvLogCodec.js";
import {keepCellsFrom, stateTempFile} from "../kv/llamaInternals.js";
import {encodeTokens, logTextOf, logTokens, type TokenizedLog} from "../kv/logKv.js";
import type {ModelRuntime} from "../runtime/ModelRuntime.js";

/**
 * `hindsight verify-kv`: checks, on the loaded model and KV settings, that logs stored as KV and stacked in front
 * of a prompt give the logits of the same cells computed in memory.
 *
 * The logs are tokenized and encoded as production stores them (`kv/logKv.ts`).
 *
 *  - single: each log encoded (whole log evaluated, last response kept, moved to 0..n-1), stored as a blob and
 *    loaded again, vs the same log evaluated in a sequence with `keepCellsFrom` (cells moved by llama.cpp).
 *  - stack: the 3 logs stacked through the real blob / merge / JS-RoPE load path vs the same blobs stacked by
 *    llama.cpp's own K-shift (`stackViaLlamaShift`).
 *  - noiseFloor: the in-memory reference vs llama.cpp's own save/load of the same shifted state. With quantized
 *    weights (Q4_x), ggml quantizes activations for the matmuls and any change of cell placement moves logits by
 *    far more than float rounding; the JS path is judged against that floor.
 *  - contextEffect: how much the logits move when the logs are encoded without their earlier context (proves the
 *    stored cells carry it; must dwarf the differences above).
 */
export interface VerifyLog {
    /** The log's "responses", in order; the last one is kept as KV. */
    responses: string[];
}

export interface VerifyKvOptions {
    logs?: VerifyLog[];
    /** User request; rendered with the model's chat template when possible. */
    request?: string;
    signal?: AbortSignal;
}

export interface VerifyKvResult {
    /** max(singleDiff, stackDiff) */
    maxAbsDiff: number;
    singleDiff: number;
    stackDiff: number;
    argmaxEqual: boolean;
    contextEffect: number;
    noiseFloor: number;
    nLogs: number;
    /** Cells stacked in front of the prompt. */
    nCells: number;
    promptTokens: number;
    kvType: string;
    flashAttention: boolean;
    stackPath: "js-rope" | "llama-shift";
    passed: boolean;
}

export const builtinVerifyLogs: VerifyLog[] = [
    {
        responses: [
            "I will open src/parser.ts to see how the CSV rows are split before they are validated.",
            "The parser splits every line on commas, so a quoted field such as \"Smith, John\" becomes two columns. " +
            "Fix: use a small state machine that tracks quotes, and add a test with an embedded comma and an escaped quote."
        ]
    },
    {
        responses: [
            "Let me search the repository for loadConfig and read where the defaults are merged.",
            "loadConfig in config.ts reads config.json with JSON.parse and returns it as is.",
            "The crash comes from a missing \"timeout\" key: merge the parsed object over DEFAULTS " +
            "({timeout: 30, retries: 3}) and validate the types before returning."
        ]
    },
    {
        responses: [
            "The failing test sorts users by age; I will read the comparator in sortUsers.",
            "The comparator returns a boolean (a.age > b.age) but Array.prototype.sort expects a number. " +
            "Replace it with (a, b) => a.age - b.age; the test now passes and the order is stable."
        ]
    }
];

const defaultRequest = "The CSV import drops the second name of a user. Where is the bug and how do I fix it?";

/** Logits after the last token of `prompt`, as a dense array indexed by token id (missing ids are -Infinity). */
export async function promptLogits(sequence: LlamaContextSequence, prompt: readonly number[], vocabSize: number): Promise<Float32Array> {
    if (prompt.length === 0)
        throw new HindsightError("INVALID_ARGUMENT", "The prompt is empty.");
    const input = prompt.map((t, i) => i === prompt.length - 1
        ? [t as Token, {generateNext: {logits: true}}] as const
        : t as Token);
    const res = await sequence.controlledEvaluate(input as never);
    const map = res[prompt.length - 1]?.next?.logits;
    if (map == null)
        throw new HindsightError("INTERNAL", "llama.cpp returned no logits.");
    const out = new Float32Array(vocabSize).fill(-Infinity);
    for (const [token, value] of map)
        if (token < vocabSize)
            out[token] = value;
    return out;
}

/** max |a - b| over entries where either is finite (equal infinities count as 0, a finite/infinite pair as Infinity). */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
    if (a.length !== b.length)
        throw new RangeError(`Logit vectors differ in length (${a.length} vs ${b.length})`);
    let m = 0;
    for (let i = 0; i < a.length; i++) {
        const x = a[i]!, y = b[i]!;
        if (x === y)
            continue;
        const d = Math.abs(x - y);
        if (Number.isNaN(d))
            return NaN;
        if (d > m)
            m = d;
    }
    return m;
}

export function argmax(a: ArrayLike<number>): number {
    let j = 0;
    for (let i = 1; i < a.length; i++)
        if (a[i]! > a[j]!)
            j = i;
    return j;
}

/** Vocabulary size of the loaded model (from the GGUF tokenizer metadata, else from a logits map). */
export function vocabSizeOf(runtime: ModelRuntime): number {
    const meta = runtime.model.fileInfo.metadata as unknown as {tokenizer?: {ggml?: {tokens?: unknown[]}}};
    const n = meta.tokenizer?.ggml?.tokens?.length;
    if (typeof n === "number" && n > 0)
        return n;
    throw new HindsightError("INTERNAL", "The model's vocabulary size is unknown.");
}

export type {TokenizedLog};

/** A verify log's tokens, exactly as production tokenizes a stored log (its text: the responses, each with a blank line). */
export function tokenizeLog(runtime: ModelRuntime, responses: readonly string[]): TokenizedLog {
    if (responses.length === 0)
        throw new HindsightError("INVALID_ARGUMENT", "A log needs at least one response.");
    const {text, last} = logTextOf(responses);
    return logTokens(runtime.model, {logText: text, lastResponse: last}, runtime.options.contextSize);
}

/** The request rendered with the model's chat template as an open assistant turn (plain text if that fails); no BOS. */
export async function renderPrompt(runtime: ModelRuntime, request: string): Promise<number[]> {
    const model = runtime.model;
    let tokens: number[] | null = null;
    try {
        const {resolveChatWrapper} = await import("node-llama-cpp");
        const wrapper = resolveChatWrapper(model);
        const {contextText} = wrapper.generateContextState({
            chatHistory: [{type: "user", text: request}, {type: "model", response: []}]
        });
        tokens = [...contextText.tokenize(model.tokenizer)];
    } catch {
        tokens = null;
    }
    if (tokens == null || tokens.length === 0)
        tokens = [...model.tokenize(`User: ${request}\nAssistant:`)];
    const bos = model.tokens.bos;
    while (tokens.length > 1 && bos != null && tokens[0] === bos)
        tokens.shift();
    return tokens;
}

function roundUp(n: number, step: number): number {
    return Math.ceil(n / step) * step;
}

export async function verifyKv(runtime: ModelRuntime, options: VerifyKvOptions = {}): Promise<VerifyKvResult> {
    const {signal} = options;
    const logSpecs = options.logs ?? builtinVerifyLogs;
    if (logSpecs.length === 0)
        throw new HindsightError("INVALID_ARGUMENT", "verify-kv needs at least one log.");
    const logs = logSpecs.map((l) => tokenizeLog(runtime, l.responses));
    const prompt = await renderPrompt(runtime, options.request ?? defaultRequest);
    const vocab = vocabSizeOf(runtime);

    const longest = Math.max(...logs.map((l) => l.tokens.length));
    const stacked = logs.reduce((n, l) => n + l.tokens.length - l.keepFrom, 0);
    const contextSize = roundUp(Math.max(longest, stacked) + prompt.length + 64, 256);
    const context = await runtime.createContext({sequences: 1, contextSize});
    try {
        const seq = context.getSequence();

        // encode: with their context, and (contextEffect) the last response alone
        const encoded: StoredKv[] = [];
        const alone: StoredKv[] = [];
        for (let i = 0; i < logs.length; i++) {
            const log = logs[i]!;
            const e = await encodeTokens(runtime, seq, log, {signal});
            encoded.push({id: `verify-${i}`, blob: e.blob, tokens: e.tokens});
            const a = await encodeTokens(runtime, seq, log, {alone: true, signal});
            alone.push({id: `verify-${i}-alone`, blob: a.blob, tokens: a.tokens});
        }

        let singleDiff = 0;
        let noiseFloor = 0;
        let argmaxEqual = true;
        let contextEffectSingle = Infinity;
        for (let i = 0; i < logs.length; i++) {
            throwIfAborted(signal);
            const log = logs[i]!;

            // in-memory reference: cells moved by llama.cpp, shift applied by the prompt's decode
            await seq.clearHistory();
            await seq.evaluateWithoutGeneratingNewTokens(log.tokens as Token[]);
            keepCellsFrom(seq, log.keepFrom);
            const ref = await promptLogits(seq, prompt, vocab);

            // stored blob, loaded
            await loadStackedLogs(runtime, seq, [encoded[i]!]);
            const got = await promptLogits(seq, prompt, vocab);
            singleDiff = Math.max(singleDiff, maxAbsDiff(ref, got));
            argmaxEqual &&= argmax(ref) === argmax(got);

            // the last response without its earlier context
            await loadStackedLogs(runtime, seq, [alone[i]!]);
            const noCtx = await promptLogits(seq, prompt, vocab);
            contextEffectSingle = Math.min(contextEffectSingle, maxAbsDiff(ref, noCtx));

            // noise floor: the same shifted cells in memory vs llama.cpp's own save/load of them
            const kept = log.tokens.slice(log.keepFrom);
            await seq.clearHistory();
            await seq.evaluateWithoutGeneratingNewTokens(log.tokens as Token[]);
            keepCellsFrom(seq, log.keepFrom);
            await seq.evaluateWithoutGeneratingNewTokens([kept[kept.length - 1]!] as Token[]);
            await seq.eraseContextTokenRanges([{start: kept.length, end: kept.length + 1}]);
            const file = await stateTempFile();
            try {
                await seq.saveStateToFile(file);
                const inMemory = await promptLogits(seq, prompt, vocab);
                await seq.loadStateFromFile(file, {acceptRisk: true});
                const reloaded = await promptLogits(seq, prompt, vocab);
                noiseFloor = Math.max(noiseFloor, maxAbsDiff(inMemory, reloaded));
            } finally {
                await fs.rm(file, {force: true});
            }
        }

        // stack: JS path vs llama.cpp's K-shift
        throwIfAborted(signal);
        const st = await loadStackedLogs(runtime, seq, encoded);
        const gotStack = await promptLogits(seq, prompt, vocab);
        const layout = expectedLayoutFor(runtime);
        const cells = encoded.map((l) => decodeKvBlob(l.blob, layout));
        const refState = await stackViaLlamaShift(runtime, cells, encoded.map((l) => l.tokens), st.offsets, seq);
        await loadSequenceState(seq, refState);
        const refStack = await promptLogits(seq, prompt, vocab);
        const stackDiff = maxAbsDiff(refStack, gotStack);
        argmaxEqual &&= argmax(refStack) === argmax(gotStack);

        // stacked without their context
        await loadStackedLogs(runtime, seq, alone);
        const noCtxStack = await promptLogits(seq, prompt, vocab);
        const contextEffect = Math.min(contextEffectSingle, maxAbsDiff(refStack, noCtxStack));
        await seq.clearHistory();

        const maxDiff = Math.max(singleDiff, stackDiff);
        const passed = argmaxEqual && contextEffect > 5 * maxDiff && maxDiff <= Math.max(1e-4, 2 * noiseFloor);
        return {
            maxAbsDiff: maxDiff,
            singleDiff,
            stackDiff,
            argmaxEqual,
            contextEffect,
            noiseFloor,
            nLogs: logs.length,
            nCells: st.nCells,
            promptTokens: prompt.length,
            kvType: runtime.options.kvType,
            flashAttention: runtime.options.flashAttention,
            stackPath: runtime.canRotateKeysInJs ? "js-rope" : "llama-shift",
            passed
        };
    } finally {
        await context.dispose();
    }
}
