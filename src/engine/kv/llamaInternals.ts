import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import crypto from "node:crypto";
import type {LlamaContext, LlamaContextSequence} from "node-llama-cpp";
import {HindsightError} from "../errors.js";

/**
 * The only place that touches node-llama-cpp internals (pinned to 3.22.1; re-test on every upgrade).
 * node-llama-cpp's public API cannot place KV cells at chosen positions, so the few calls below reach the addon:
 * remove/shift cells of a sequence, and save/load a sequence state without the JS bookkeeping.
 */
interface AddonContext {
    removeTokenCellsFromSequence(sequenceId: number, startPos: number, endPos: number): boolean;
    shiftSequenceTokenCells(sequenceId: number, startPos: number, endPos: number, shiftDelta: number): void;
    saveSequenceStateToFile(filePath: string, sequenceId: number, tokens: Uint32Array): Promise<number>;
}

interface SequenceInternals {
    _sequenceId: number;
    _contextTokens: number[];
    _nextTokenIndex: number;
}

function addon(context: LlamaContext): AddonContext {
    const ctx = (context as unknown as {_ctx?: AddonContext})._ctx;
    if (ctx == null || typeof ctx.shiftSequenceTokenCells !== "function")
        throw new HindsightError("INTERNAL", "This node-llama-cpp version does not expose the KV calls Hindsight needs; install the pinned version 3.22.1.");
    return ctx;
}

function internals(sequence: LlamaContextSequence): SequenceInternals {
    const s = sequence as unknown as SequenceInternals;
    if (typeof s._sequenceId !== "number" || !Array.isArray(s._contextTokens))
        throw new HindsightError("INTERNAL", "This node-llama-cpp version does not expose sequence internals; install the pinned version 3.22.1.");
    return s;
}

export function sequenceIdOf(sequence: LlamaContextSequence): number {
    return internals(sequence)._sequenceId;
}

/**
 * Keeps only cells [from, end) of the sequence and moves them to positions 0..end-from-1 (llama.cpp's K-shift,
 * applied lazily at the next decode), and makes node-llama-cpp's bookkeeping agree.
 * node-llama-cpp's own `eraseContextTokenRanges` cannot do this: a range from 0 drops the whole cache.
 */
export function keepCellsFrom(sequence: LlamaContextSequence, from: number): void {
    const s = internals(sequence);
    const ctx = addon(sequence.context);
    const end = s._contextTokens.length;
    if (from <= 0)
        return;
    if (!ctx.removeTokenCellsFromSequence(s._sequenceId, 0, from))
        throw new HindsightError("INTERNAL", "llama.cpp refused to remove KV cells.");
    ctx.shiftSequenceTokenCells(s._sequenceId, from, end, -from);
    s._contextTokens = s._contextTokens.slice(from);
    s._nextTokenIndex = s._contextTokens.length;
}

/** Moves every cell of the sequence by `delta` positions (K-shift applied at the next decode); bookkeeping unchanged. */
export function shiftAllCells(sequence: LlamaContextSequence, delta: number, nCells: number): void {
    const s = internals(sequence);
    addon(sequence.context).shiftSequenceTokenCells(s._sequenceId, 0, nCells, delta);
}

/** Saves a sequence's cells as they are, with the given token list, to a ggsq file. */
export async function saveSequenceRaw(sequence: LlamaContextSequence, file: string, tokens: readonly number[]): Promise<void> {
    const s = internals(sequence);
    await addon(sequence.context).saveSequenceStateToFile(file, s._sequenceId, Uint32Array.from(tokens));
}

/** A private temp folder for state files (the addon's state API is file based only). */
let tmpDir: Promise<string> | null = null;

export async function stateTempFile(): Promise<string> {
    tmpDir ??= (async () => {
        const base = process.platform === "linux" && (await fs.stat("/dev/shm").then((s) => s.isDirectory(), () => false))
            ? "/dev/shm"
            : os.tmpdir();
        return fs.mkdtemp(path.join(base, "hindsight-kv-"));
    })();
    return path.join(await tmpDir, `${crypto.randomBytes(8).toString("hex")}.ggsq`);
}
