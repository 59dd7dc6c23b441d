import type {LlamaContextSequence, LlamaModel} from "node-llama-cpp";
import type {ModelRuntime} from "../runtime/ModelRuntime.js";
import type {LogRecord, LogStore} from "../store/index.js";
import {encodeLogKv, type EncodedLog, type StoredKv} from "./KvLogCodec.js";

/**
 * The one way a log becomes tokens and KV: used by the engine (storing a task, a cache miss at retrieval,
 * re-encoding), by `verify-kv` (so the exactness check covers the layout production stores) and by `bench kv`.
 */

/** Fingerprint suffix under which a log's last response encoded alone is stored (never mixed with `kv` blobs). */
export const KV_ALONE_SUFFIX = "#alone";

/** A log as text: every response followed by a blank line, and the last response on its own (and its task, for `task` encodings). */
export interface LogText {
    logText: string;
    lastResponse: string;
    task?: string;
}

/**
 * Which cells of a log are stored as its KV, and after what they were computed (issue 12's variants; all off is
 * the paper's LAG layout):
 * - `alone`: the last response encoded without the log before it (Block-Attention-style baseline);
 * - `task`: the log's task, as `Past task: ...`, right before the last response and kept with it, so that a
 *   stacked log shows what that session was asked (and the model can contrast it with the new task);
 * - `sink`: the log encoded after one fixed prefix (`SINK_TEXT`), whose cells are stacked once at position 0
 *   (APE / Star-Attention style), so that no log's first token was ever the first token its cells attended to.
 */
export interface KvEncoding {
    alone: boolean;
    task: boolean;
    sink: boolean;
}

export const lagEncoding: KvEncoding = Object.freeze({alone: false, task: false, sink: false});

/** The fixed prefix every `sink` encoding starts with; its KV is stacked once, in front of all logs. */
export const SINK_TEXT = "Notes from past sessions.\n\n";

/** The fingerprint suffix of an encoding (`#alone`, `#task`, `#sink`, in that order; empty for LAG's). */
export function encodingSuffix(e: KvEncoding): string {
    return (e.alone ? KV_ALONE_SUFFIX : "") + (e.task ? "#task" : "") + (e.sink ? "#sink" : "");
}

/** The text a `task` encoding puts before the last response. */
export function taskHeader(task: string): string {
    return `Past task: ${task.trim()}\n\nIts answer:\n`;
}

/** Tokens of the shared sink prefix for a model (tokenized once per model: every stack and fit asks for them). */
const sinkTokenCache = new WeakMap<LlamaModel, readonly number[]>();
export function sinkTokens(model: LlamaModel): number[] {
    let tokens = sinkTokenCache.get(model);
    if (tokens == null) {
        tokens = [...model.tokenize(SINK_TEXT)];
        sinkTokenCache.set(model, tokens);
    }
    return [...tokens];
}

/** A tokenized log: all tokens, and where its last response starts. */
export interface TokenizedLog {
    tokens: number[];
    keepFrom: number;
}

/** The log text of a finished task: the model's responses only, each followed by a blank line (as the paper). */
export function logTextOf(responses: readonly string[]): {text: string, last: string} {
    const cleaned = responses.map((r) => r.trim());
    return {text: cleaned.map((r) => r + "\n\n").join(""), last: cleaned[cleaned.length - 1] ?? ""};
}

/**
 * Tokens of a log and where its kept cells start: the text before the last response and the last response
 * (with its blank line) tokenized apart, no BOS; a `task` encoding puts the task header right before the last
 * response (kept with it), a `sink` encoding starts with the sink prefix (never kept: it is stacked once). The
 * earliest tokens of the log are dropped if it cannot fit `contextSize` (the kept cells keep at most half of it).
 */
export function logTokens(model: LlamaModel, log: LogText, contextSize: number, encoding: KvEncoding = lagEncoding): TokenizedLog {
    const lastText = log.lastResponse + "\n\n";
    const prefixText = log.logText.endsWith(lastText) ? log.logText.slice(0, log.logText.length - lastText.length) : "";
    const sink = encoding.sink ? sinkTokens(model) : [];
    let prefix: number[] = prefixText === "" || encoding.alone ? [] : [...model.tokenize(prefixText)];
    const header: number[] = encoding.task && log.task != null ? [...model.tokenize(taskHeader(log.task))] : [];
    let last: number[] = [...header, ...model.tokenize(lastText)];
    const budget = contextSize - 8 - sink.length;
    if (last.length > budget / 2)
        last = last.slice(last.length - Math.floor(budget / 2));
    if (prefix.length + last.length > budget)
        prefix = prefix.slice(prefix.length + last.length - budget);
    return {tokens: [...sink, ...prefix, ...last], keepFrom: sink.length + prefix.length};
}

export interface EncodeOptions {
    /** The last response encoded without the log before it (its cells attend only to each other). Defaults to `false`. */
    alone?: boolean;
    signal?: AbortSignal;
}

/** Encodes a tokenized log on `sequence` (cleared before and after): the KV of its kept cells, at 0..n-1. */
export function encodeTokens(runtime: ModelRuntime, sequence: LlamaContextSequence, log: TokenizedLog, options: EncodeOptions = {}): Promise<EncodedLog> {
    return options.alone
        ? encodeLogKv(runtime, sequence, log.tokens.slice(log.keepFrom), 0, options.signal)
        : encodeLogKv(runtime, sequence, log.tokens, log.keepFrom, options.signal);
}

/** Tokenizes (to fit `sequence`) and encodes a log in `encoding` (LAG's by default). */
export function encode(runtime: ModelRuntime, sequence: LlamaContextSequence, log: LogText, options: EncodeOptions & {encoding?: KvEncoding} = {}): Promise<EncodedLog> {
    const encoding = options.encoding ?? (options.alone ? {...lagEncoding, alone: true} : lagEncoding);
    // logTokens leaves the log's earlier responses out of an `alone` encoding itself (a sink stays before it)
    return encodeTokens(runtime, sequence, logTokens(runtime.model, log, sequence.contextSize, encoding), {signal: options.signal});
}

/** The fingerprint a log's KV is stored under for the loaded model and encoding (`true`: the last response alone). */
export function kvFingerprint(runtime: ModelRuntime, encoding: KvEncoding | boolean = lagEncoding): string {
    const e = typeof encoding === "boolean" ? {...lagEncoding, alone: encoding} : encoding;
    return runtime.fingerprint.id + encodingSuffix(e);
}

/** The KV of a log for the loaded model: the stored blob, or on a miss encoded now on `sequence` and stored. */
export async function kvFor(runtime: ModelRuntime, store: LogStore, sequence: LlamaContextSequence, log: LogRecord,
    encoding: KvEncoding | boolean = lagEncoding): Promise<StoredKv> {
    const e = typeof encoding === "boolean" ? {...lagEncoding, alone: encoding} : encoding;
    const fingerprint = kvFingerprint(runtime, e);
    const stored = await store.getKv(log.id, fingerprint);
    if (stored != null)
        return {id: log.id, blob: stored.data, tokens: stored.tokens};
    const encoded = await encode(runtime, sequence, log, {encoding: e});
    await store.putKv({logId: log.id, fingerprint, nTokens: encoded.nCells, tokens: encoded.tokens, data: encoded.blob});
    return {id: log.id, blob: encoded.blob, tokens: encoded.tokens};
}

/** Cells a log takes when stacked in `encoding`, without encoding it (its last response, plus its task header; the header tokenized apart as `logTokens` does). */
export function stackedCellsOf(model: LlamaModel, log: LogRecord, encoding: KvEncoding): number {
    return encoding.task ? log.nTokens + model.tokenize(taskHeader(log.task)).length : log.nTokens;
}

/** The sink prefix's KV (positions 0..n-1), encoded once per runtime on `sequence` (cleared before and after). */
const sinks = new WeakMap<ModelRuntime, Promise<StoredKv>>();
export function sinkKv(runtime: ModelRuntime, sequence: LlamaContextSequence): Promise<StoredKv> {
    let kv = sinks.get(runtime);
    if (kv == null) {
        kv = encodeLogKv(runtime, sequence, sinkTokens(runtime.model), 0).then((e) => ({id: "#sink", blob: e.blob, tokens: e.tokens}));
        kv.catch(() => sinks.delete(runtime));
        sinks.set(runtime, kv);
    }
    return kv;
}
