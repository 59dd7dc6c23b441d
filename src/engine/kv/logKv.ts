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

/** A log as text: every response followed by a blank line, and the last response on its own. */
export interface LogText {
    logText: string;
    lastResponse: string;
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
 * Tokens of a log and where its last response starts: the text before the last response and the last response
 * (with its blank line) tokenized apart, no BOS. The earliest tokens are dropped if it cannot fit `contextSize`
 * (the last response keeps at most half of it).
 */
export function logTokens(model: LlamaModel, log: LogText, contextSize: number): TokenizedLog {
    const lastText = log.lastResponse + "\n\n";
    const prefixText = log.logText.endsWith(lastText) ? log.logText.slice(0, log.logText.length - lastText.length) : "";
    let prefix: number[] = prefixText === "" ? [] : [...model.tokenize(prefixText)];
    let last: number[] = [...model.tokenize(lastText)];
    const budget = contextSize - 8;
    if (last.length > budget / 2)
        last = last.slice(last.length - Math.floor(budget / 2));
    if (prefix.length + last.length > budget)
        prefix = prefix.slice(prefix.length + last.length - budget);
    return {tokens: [...prefix, ...last], keepFrom: prefix.length};
}

export interface EncodeOptions {
    /** The last response encoded without the log before it (its cells attend only to each other). Defaults to `false`. */
    alone?: boolean;
    signal?: AbortSignal;
}

/** Encodes a tokenized log on `sequence` (cleared before and after): the KV of its last response, at 0..n-1. */
export function encodeTokens(runtime: ModelRuntime, sequence: LlamaContextSequence, log: TokenizedLog, options: EncodeOptions = {}): Promise<EncodedLog> {
    return options.alone
        ? encodeLogKv(runtime, sequence, log.tokens.slice(log.keepFrom), 0, options.signal)
        : encodeLogKv(runtime, sequence, log.tokens, log.keepFrom, options.signal);
}

/** Tokenizes (to fit `sequence`) and encodes a log. */
export function encode(runtime: ModelRuntime, sequence: LlamaContextSequence, log: LogText, options: EncodeOptions = {}): Promise<EncodedLog> {
    return encodeTokens(runtime, sequence, logTokens(runtime.model, log, sequence.contextSize), options);
}

/** The fingerprint a log's KV is stored under for the loaded model (`alone`: the last response without its context). */
export function kvFingerprint(runtime: ModelRuntime, alone = false): string {
    return runtime.fingerprint.id + (alone ? KV_ALONE_SUFFIX : "");
}

/** The KV of a log for the loaded model: the stored blob, or on a miss encoded now on `sequence` and stored. */
export async function kvFor(runtime: ModelRuntime, store: LogStore, sequence: LlamaContextSequence, log: LogRecord, alone = false): Promise<StoredKv> {
    const fingerprint = kvFingerprint(runtime, alone);
    const stored = await store.getKv(log.id, fingerprint);
    if (stored != null)
        return {id: log.id, blob: stored.data, tokens: stored.tokens};
    const encoded = await encode(runtime, sequence, log, {alone});
    await store.putKv({logId: log.id, fingerprint, nTokens: encoded.nCells, tokens: encoded.tokens, data: encoded.blob});
    return {id: log.id, blob: encoded.blob, tokens: encoded.tokens};
}
