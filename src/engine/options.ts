/**
 * The vocabularies and defaults every layer shares: the engine's options, the CLI's flags and the extension's
 * settings (package.json `contributes.configuration` declares the same; a unit test keeps them equal). Pure data
 * without imports: the extension reads it at activation, before the engine module loads.
 */

/**
 * How past sessions reach the model: not at all; as text (last response, whole trace, or `reflection`: notes an
 * extra model call distils from the logs, as Dynamic Cheatsheet); as stacked KV of the last response encoded with
 * its whole log before it (`kv`, LAG) or encoded alone, without its earlier context (`kv-alone`, the paper's
 * Block-Attention-style baseline). Each is one object in `session/modes/`.
 */
export const askModes = ["none", "text-last", "text-all", "reflection", "kv-alone", "kv"] as const;
export type AskMode = typeof askModes[number];

/**
 * Variants of `kv` and `kv-alone` (issue 12), named by flags after a `+`, in this order:
 * `kv+task+sink+epic+near+frame+gate`. `task`: a log's KV also holds its task; `sink`: logs encoded after one shared
 * prefix, stacked once at position 0; `epic`: each stacked log after the first part has its first tokens recomputed
 * at their new place (EPIC; same stored KV, only the stacking differs; f16/f32 KV only); `near`: the most relevant
 * log stacked last, next to the prompt; `frame`: the system prompt says the stacked sessions are related past work
 * whose requirements may differ; `gate`: full-text retrieval counts only a clear best match (`GATE_TEXT_LEAD`), so
 * a request that matches no past session well stacks none. See `session/modes/kvVariant.ts`.
 */
export const kvVariantFlags = ["task", "sink", "epic", "near", "frame", "gate"] as const;
export type KvVariantFlag = typeof kvVariantFlags[number];
export type KvVariantMode = `${"kv" | "kv-alone"}+${string}`;
/** A memory mode by name: one of `askModes`, or a `kv` variant. */
export type MemoryModeName = AskMode | KvVariantMode;

/** The base mode and flags of a mode name, or null when it is none (flags must be known, once each, in order). */
export function parseModeName(name: string): {base: AskMode, flags: KvVariantFlag[]} | null {
    const [base, ...flags] = name.split("+");
    if (!(askModes as readonly string[]).includes(base!))
        return null;
    if (flags.length === 0)
        return {base: base as AskMode, flags: []};
    if (base !== "kv" && base !== "kv-alone")
        return null;
    const order = flags.map((f) => (kvVariantFlags as readonly string[]).indexOf(f));
    if (order.some((i, j) => i < 0 || (j > 0 && i <= order[j - 1]!)))
        return null;
    return {base, flags: flags as KvVariantFlag[]};
}

export function isModeName(name: string): name is MemoryModeName {
    return parseModeName(name) != null;
}

/** KV cache types (K and V alike); stored logs are valid for one type only. */
export const kvCacheTypes = ["f16", "f32", "q8_0", "q4_0"] as const;
export type KvCacheType = typeof kvCacheTypes[number];

/** GPU backends; `auto` picks CUDA, Vulkan or Metal when present and falls back to the CPU. */
export const gpuChoices = ["auto", "cuda", "vulkan", "metal", "cpu"] as const;
export type GpuChoice = typeof gpuChoices[number];

/** Which past sessions a workspace reuses: its own, or one memory for all. */
export const memoryScopes = ["workspace", "global"] as const;
export type MemoryScope = typeof memoryScopes[number];

export const defaults = {
    gpu: "auto" as GpuChoice,
    kvType: "f16" as KvCacheType,
    /**
     * How a request reuses past sessions: LAG's stacked KV with a shared attention sink, the most relevant log next
     * to the prompt (issue 12's measurements, eval/README.md); `kv` is the paper's layout as it is.
     */
    mode: "kv+sink+near+gate" as MemoryModeName,
    /** Logs retrieved per query. */
    k: 3,
    /** Rounds of think/act/observe. */
    maxRounds: 4,
    /** Tokens the model may write per round. */
    maxTokensPerRound: 384,
    memoryScope: "workspace" as MemoryScope,
    /** 0: automatic (HINDSIGHT_THREADS, else the number of cores). */
    threads: 0,
    inline: {
        enabled: true,
        /** Milliseconds after the last keystroke before a suggestion is computed. */
        delayMs: 300,
        /** Seed suggestions with the most relevant past session's KV. */
        useMemory: false,
        /** Tokens a suggestion may have. */
        maxTokens: 48
    }
} as const;

export function isOneOf<T extends string>(list: readonly T[], value: unknown): value is T {
    return typeof value === "string" && (list as readonly string[]).includes(value);
}
