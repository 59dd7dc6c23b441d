import fs from "node:fs/promises";
import type {LlamaContextSequence, Token} from "node-llama-cpp";
import {HindsightError, KvLogError, throwIfAborted} from "../errors.js";
import type {ModelRuntime} from "../runtime/ModelRuntime.js";
import {decodeKvBlob, encodeKvBlob, expectedLayout, type ExpectedKvLayout} from "./KvBlob.js";
import {keepCellsFrom, saveSequenceRaw, sequenceIdOf, shiftAllCells, stateTempFile} from "./llamaInternals.js";
import {ropeCache, rotateKRows} from "./rope.js";
import {parseSeqState, sliceCells, writeStackedSeqState, type KvCells, type StackPart} from "./seqState.js";

/**
 * Selective KV logs (LAG): encode a whole log once, keep only the cells of its last response (which already
 * attended to everything before them), store them at positions 0..n-1; later, stack several logs back to back
 * in front of a prompt. See README.md in this folder.
 */
export interface EncodedLog {
    blob: Uint8Array;
    /** Token ids of the kept cells. */
    tokens: number[];
    nCells: number;
}

export interface StoredKv {
    id: string;
    blob: Uint8Array;
    tokens: readonly number[];
}

export interface StackResult {
    nCells: number;
    /** Position of each log's first cell, in input order. */
    offsets: number[];
    /** Building the merged state (decode, checks, rotation, copies). */
    buildMs: number;
    /** Handing it to llama.cpp. */
    loadMs: number;
}

export function expectedLayoutFor(runtime: ModelRuntime): ExpectedKvLayout {
    return expectedLayout(runtime.fingerprint.id, runtime.shape, runtime.options.kvType, runtime.options.flashAttention);
}

async function readAndRemove(file: string): Promise<Uint8Array> {
    try {
        return new Uint8Array(await fs.readFile(file));
    } finally {
        await fs.rm(file, {force: true});
    }
}

/**
 * Evaluates `tokens` (the whole log) in `sequence` (cleared first) and returns the KV of cells [keepFrom, end)
 * moved to positions 0..n-1. f16/f32 keys are moved in JS from a plain save (one rounding); quantized keys are
 * moved by llama.cpp's K-shift before the save.
 */
export async function encodeLogKv(runtime: ModelRuntime, sequence: LlamaContextSequence, tokens: readonly number[],
    keepFrom: number, signal?: AbortSignal): Promise<EncodedLog> {
    if (keepFrom < 0 || keepFrom >= tokens.length)
        throw new HindsightError("INVALID_ARGUMENT", "The last response of a log must hold at least one token.");
    if (tokens.length > sequence.contextSize)
        throw new HindsightError("PROMPT_TOO_LONG", `The log (${tokens.length} tokens) does not fit the context (${sequence.contextSize}).`);

    await sequence.clearHistory();
    throwIfAborted(signal);
    await sequence.evaluateWithoutGeneratingNewTokens([...tokens] as Token[]);
    throwIfAborted(signal);
    const kept = tokens.slice(keepFrom);
    const file = await stateTempFile();

    let cells: KvCells;
    if (runtime.canRotateKeysInJs) {
        await sequence.saveStateToFile(file);
        const state = parseSeqState(await readAndRemove(file));
        if (state.cells.nCells !== tokens.length || state.positions.some((p, i) => p !== i))
            throw new HindsightError("INTERNAL", "The sequence held other cells than the log being encoded.");
        cells = sliceCells(state.cells, keepFrom, tokens.length);
        if (keepFrom > 0) {
            const cache = ropeCache(runtime.shape.rope, -keepFrom);
            for (const layer of cells.layers)
                rotateKRows(runtime.shape.rope, layer.kType, layer.k, layer.k, cache);
        }
    } else {
        keepCellsFrom(sequence, keepFrom);
        // one decode applies the pending K-shift; the dummy cell is removed again
        await sequence.evaluateWithoutGeneratingNewTokens([kept[kept.length - 1]!] as Token[]);
        await sequence.eraseContextTokenRanges([{start: kept.length, end: kept.length + 1}]);
        await saveSequenceRaw(sequence, file, kept);
        const state = parseSeqState(await readAndRemove(file));
        if (state.cells.nCells !== kept.length || state.positions.some((p, i) => p !== i))
            throw new HindsightError("INTERNAL", "llama.cpp did not move the log's cells as asked.");
        cells = state.cells;
    }
    await sequence.clearHistory();
    return {blob: encodeKvBlob(runtime.fingerprint.id, cells), tokens: kept, nCells: kept.length};
}

/** Validates every log first: one bad log refuses the whole stack before llama.cpp is touched. */
function decodeAll(runtime: ModelRuntime, logs: readonly StoredKv[]): KvCells[] {
    const expected = expectedLayoutFor(runtime);
    return logs.map((log) => {
        try {
            const cells = decodeKvBlob(log.blob, expected);
            if (log.tokens.length !== cells.nCells)
                throw new KvLogError("KV_CORRUPT", `holds ${cells.nCells} cells but ${log.tokens.length} tokens`);
            return cells;
        } catch (err) {
            if (err instanceof KvLogError)
                throw new KvLogError(err.code as "KV_CORRUPT", `Log ${log.id}: ${err.message}`, {cause: err});
            throw err;
        }
    });
}

/**
 * Loads the logs back to back (positions 0..N-1, in the given order) into `sequence`, replacing what it held.
 * Each log keeps attending only to itself: its cells were computed alone and are only moved, never recomputed.
 */
export async function loadStackedLogs(runtime: ModelRuntime, sequence: LlamaContextSequence, logs: readonly StoredKv[]): Promise<StackResult> {
    const t0 = performance.now();
    const {cellsList, offsets, nCells: n} = await planStack(runtime, sequence, logs);
    if (n === 0)
        return {nCells: 0, offsets, buildMs: 0, loadMs: 0};

    let state: Uint8Array;
    if (runtime.canRotateKeysInJs) {
        const parts = cellsList.map((cells, i) => movedPart(runtime, cells, logs[i]!.tokens, offsets[i]!));
        state = writeStackedSeqState(parts, sequence.context.totalSequences, sequenceIdOf(sequence), sequenceIdOf(sequence));
    } else
        state = await stackViaLlamaShift(runtime, cellsList, logs.map((l) => l.tokens), offsets, sequence);
    const t1 = performance.now();

    await loadSequenceState(sequence, state);
    return {nCells: n, offsets, buildMs: t1 - t0, loadMs: performance.now() - t1};
}

/**
 * What every stacking does first: validates every log (`decodeAll`), places them back to back (each part's first
 * position, the cells in all) and refuses a stack that does not fit the context. An empty stack clears `sequence`.
 */
export async function planStack(runtime: ModelRuntime, sequence: LlamaContextSequence, logs: readonly StoredKv[]):
    Promise<{cellsList: KvCells[], offsets: number[], nCells: number}> {
    const cellsList = decodeAll(runtime, logs);
    const offsets: number[] = [];
    let nCells = 0;
    for (const cells of cellsList) {
        offsets.push(nCells);
        nCells += cells.nCells;
    }
    if (nCells === 0)
        await sequence.clearHistory();
    else if (nCells >= sequence.contextSize)
        throw new HindsightError("PROMPT_TOO_LONG", `The retrieved logs (${nCells} tokens) do not fit the context (${sequence.contextSize}).`);
    return {cellsList, offsets, nCells};
}

/**
 * A stack part whose cells (f16/f32 keys) move by `delta` positions: their keys are rotated by `delta` in JS while
 * they are copied into the stacked state (RoPE rotations compose), V is copied as it is.
 */
export function movedPart(runtime: ModelRuntime, cells: KvCells, tokens: ArrayLike<number>, delta: number): StackPart {
    const cache = delta === 0 ? null : ropeCache(runtime.shape.rope, delta);
    return {
        cells,
        tokens,
        copyK: cache == null ? undefined : (layer: number, src: Uint8Array, dst: Uint8Array) =>
            rotateKRows(runtime.shape.rope, cells.layers[layer]!.kType, src, dst, cache)
    };
}

/** Saves `sequence`'s state (its cells as they are, with its tokens) and returns the 'ggsq' bytes. */
export async function saveSequenceState(sequence: LlamaContextSequence): Promise<Uint8Array> {
    const file = await stateTempFile();
    try {
        await sequence.saveStateToFile(file);
    } catch (err) {
        await fs.rm(file, {force: true});
        throw err;
    }
    return readAndRemove(file);
}

/** Loads a 'ggsq' sequence state into `sequence`, replacing what it held (through a temp file: node-llama-cpp has no buffer API). */
export async function loadSequenceState(sequence: LlamaContextSequence, state: Uint8Array): Promise<void> {
    const file = await stateTempFile();
    try {
        await fs.writeFile(file, state);
        await sequence.loadStateFromFile(file, {acceptRisk: true});
    } finally {
        await fs.rm(file, {force: true});
    }
}

/**
 * The same stacking with every key moved by llama.cpp itself: each log is loaded into its own sequence of a
 * scratch context, shifted to its offset, one decode applies the shifts, and the moved cells are merged.
 * Used for quantized keys (which JS cannot rotate) and as the reference the JS path is tested against.
 */
export async function stackViaLlamaShift(runtime: ModelRuntime, cellsList: readonly KvCells[], tokensList: readonly (readonly number[])[],
    offsets: readonly number[], target: LlamaContextSequence): Promise<Uint8Array> {
    const total = cellsList.reduce((n, c) => n + c.nCells, 0);
    const scratch = await runtime.createContext({sequences: cellsList.length + 1, contextSize: Math.max(256, total + 64)});
    try {
        const sequences = cellsList.map(() => scratch.getSequence());
        const dummy = scratch.getSequence();
        for (let i = 0; i < cellsList.length; i++) {
            const seq = sequences[i]!;
            await loadSequenceState(seq, writeStackedSeqState([{cells: cellsList[i]!, tokens: tokensList[i]!}],
                scratch.totalSequences, sequenceIdOf(seq), sequenceIdOf(seq)));
            if (offsets[i]! !== 0)
                shiftAllCells(seq, offsets[i]!, cellsList[i]!.nCells);
        }
        await dummy.evaluateWithoutGeneratingNewTokens([tokensList[0]![0]!] as Token[]);

        const moved: StackPart[] = [];
        for (let i = 0; i < cellsList.length; i++) {
            const file = await stateTempFile();
            await saveSequenceRaw(sequences[i]!, file, tokensList[i]!);
            const state = parseSeqState(await readAndRemove(file));
            if (state.positions[0] !== offsets[i])
                throw new HindsightError("INTERNAL", "llama.cpp did not move a log to its offset.");
            moved.push({cells: state.cells, tokens: tokensList[i]!});
        }
        return writeStackedSeqState(moved, target.context.totalSequences, sequenceIdOf(target), sequenceIdOf(target));
    } finally {
        await scratch.dispose();
    }
}
