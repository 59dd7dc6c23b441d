import {HindsightError, isModeName, kvVariantFlags, askModes, type MemoryModeName} from "../engine/index.js";

/**
 * What one column of an evaluation runs: a memory mode (a named one or a `kv+flags` variant), optionally with its
 * own number of logs per query after `@k` (`kv+sink@k5`; without it the run's `--k`), and `/verify`: each answer
 * checked against the task's examples before it is given (`ask`'s `verify`), e.g. `kv@k1/verify`. Journaled as given.
 */
export type EvalMode = MemoryModeName | `${MemoryModeName}@k${number}` | `${MemoryModeName}/verify` | `${MemoryModeName}@k${number}/verify`;

export function parseEvalMode(spec: string): {mode: MemoryModeName, k: number | null, verify: boolean} {
    const m = /^(.+?)(?:@k([1-9][0-9]?))?(\/verify)?$/.exec(spec);
    const name = m?.[1] ?? "";
    if (m == null || !isModeName(name))
        throw new HindsightError("INVALID_ARGUMENT", `Unknown mode "${spec}": one of ${askModes.join(", ")}, or kv / kv-alone with +flags ` +
            `from ${kvVariantFlags.join(", ")} (in that order), optionally followed by @kN (logs per query, 1-99) and /verify.`);
    return {mode: name, k: m[2] == null ? null : Number(m[2]), verify: m[3] != null};
}

export function isEvalMode(spec: string): spec is EvalMode {
    try {
        parseEvalMode(spec);
        return true;
    } catch {
        return false;
    }
}
