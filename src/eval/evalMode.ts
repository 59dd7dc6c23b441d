import {HindsightError, isModeName, kvVariantFlags, askModes, type MemoryModeName} from "../engine/index.js";

/**
 * What one column of an evaluation runs: a memory mode (a named one or a `kv+flags` variant), optionally with its
 * own number of logs per query after `@k` (`kv+sink@k5`); without it the run's `--k`. Journaled as given.
 */
export type EvalMode = MemoryModeName | `${MemoryModeName}@k${number}`;

export function parseEvalMode(spec: string): {mode: MemoryModeName, k: number | null} {
    const at = /^(.+)@k([1-9][0-9]?)$/.exec(spec);
    const name = at == null ? spec : at[1]!;
    if (!isModeName(name))
        throw new HindsightError("INVALID_ARGUMENT", `Unknown mode "${spec}": one of ${askModes.join(", ")}, or kv / kv-alone with +flags ` +
            `from ${kvVariantFlags.join(", ")} (in that order), optionally followed by @kN (logs per query, 1-99).`);
    return {mode: name, k: at == null ? null : Number(at[2])};
}

export function isEvalMode(spec: string): spec is EvalMode {
    try {
        parseEvalMode(spec);
        return true;
    } catch {
        return false;
    }
}
