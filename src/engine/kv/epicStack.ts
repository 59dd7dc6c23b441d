import type {LlamaContextSequence, Token} from "node-llama-cpp";
import {HindsightError, KvLogError} from "../errors.js";
import type {ModelRuntime} from "../runtime/ModelRuntime.js";
import {loadSequenceState, movedPart, planStack, saveSequenceState, type StackResult, type StoredKv} from "./KvLogCodec.js";
import {sequenceIdOf} from "./llamaInternals.js";
import {parseSeqState, sliceCells, writeStackedSeqState, type StackPart} from "./seqState.js";

/**
 * Tokens at the start of each stacked part (but the first) that `epic` stacking evaluates again at their new place.
 * EPIC recomputes only a few initial tokens of every independently encoded chunk: the false attention sink a chunk
 * carries sits in its first tokens. 16 covers a log's first words with room to spare, is a small share of a
 * typical stored log (87 tokens per log in the 1.5B run's store) and costs 16 evaluated tokens per stacked log.
 */
export const EPIC_RECOMPUTE_TOKENS = 16;

export interface EpicStackResult extends StackResult {
    /** Tokens evaluated at their new place, over all parts. */
    recomputed: number;
}

/** Refuses a runtime whose keys JS cannot rotate (quantized KV): the remaining cells of every part are moved in JS. */
export function assertCanRecompute(runtime: ModelRuntime): void {
    if (!runtime.canRotateKeysInJs)
        throw new KvLogError("KV_TYPE_UNSUPPORTED", `Stacking with \`epic\` needs f16 or f32 KV (the model runs with ${runtime.options.kvType} KV): ` +
            "use f16 KV or drop `epic` from the mode.");
}

/**
 * Loads the logs back to back (positions 0..N-1, in the given order) into `sequence`, replacing what it held, like
 * `loadStackedLogs`, but with every part after the first one starting with its first `recompute` tokens (clamped
 * to its length) evaluated at their new place, so that they attend to everything stacked before them; the rest of
 * its cells are kept as stored (moved, keys rotated in JS). llama.cpp evaluates only at the end of a sequence, so it
 * goes in stages, one per recomputed part: load the parts placed so far, evaluate the part's first tokens on the
 * sequence (they land at the next positions), save and parse that state, and append the part's other cells.
 * The token ids stacked are the logs' own, as with `loadStackedLogs`; with `recompute` 0 the state is the same.
 * f16/f32 KV only (`KV_TYPE_UNSUPPORTED` before anything is loaded otherwise).
 */
export async function loadEpicStack(runtime: ModelRuntime, sequence: LlamaContextSequence, logs: readonly StoredKv[],
    recompute = EPIC_RECOMPUTE_TOKENS): Promise<EpicStackResult> {
    assertCanRecompute(runtime);
    if (!Number.isSafeInteger(recompute) || recompute < 0)
        throw new HindsightError("INVALID_ARGUMENT", `The number of tokens to recompute must be a whole number >= 0 (got ${recompute}).`);
    const t0 = performance.now();
    const {cellsList, offsets, nCells} = await planStack(runtime, sequence, logs);
    if (nCells === 0)
        return {nCells: 0, offsets, buildMs: 0, loadMs: 0, recomputed: 0};

    const nStream = sequence.context.totalSequences;
    const stream = sequenceIdOf(sequence);
    /** The parts placed so far, back to back from position 0, as JS copies them. */
    let placed: StackPart[] = [];
    /** Whether the sequence already holds the whole stack (the last part was recomputed to its end). */
    let held = false;
    let llamaMs = 0;
    let recomputed = 0;
    for (let j = 0; j < cellsList.length; j++) {
        const cells = cellsList[j]!;
        const tokens = logs[j]!.tokens;
        const offset = offsets[j]!;
        const m = j === 0 ? 0 : Math.min(recompute, cells.nCells);
        if (m > 0) {
            const t = performance.now();
            await loadSequenceState(sequence, writeStackedSeqState(placed, nStream, stream, stream));
            // positions continue the sequence: offset..offset+m-1, attending to every part before
            await sequence.evaluateWithoutGeneratingNewTokens(tokens.slice(0, m) as Token[]);
            recomputed += m;
            if (m === cells.nCells && j === cellsList.length - 1) {
                llamaMs += performance.now() - t;
                held = true;
                break;
            }
            // no cell was erased or shifted since the load, so the save holds every key at its position
            const state = parseSeqState(await saveSequenceState(sequence));
            llamaMs += performance.now() - t;
            if (state.cells.nCells !== offset + m || state.tokens.length !== offset + m || state.positions.some((p, i) => p !== i))
                throw new HindsightError("INTERNAL", "After recomputing a log's first tokens the sequence did not hold the stacked cells in order.");
            placed = [{cells: state.cells, tokens: state.tokens}];
        }
        if (m < cells.nCells)
            // cell i of the blob (at i) goes to offset + i
            placed.push(movedPart(runtime, m === 0 ? cells : sliceCells(cells, m, cells.nCells), m === 0 ? tokens : tokens.slice(m), offset));
    }
    if (!held) {
        const state = writeStackedSeqState(placed, nStream, stream, stream);
        const t = performance.now();
        await loadSequenceState(sequence, state);
        llamaMs += performance.now() - t;
    }
    return {nCells, offsets, buildMs: performance.now() - t0 - llamaMs, loadMs: llamaMs, recomputed};
}
