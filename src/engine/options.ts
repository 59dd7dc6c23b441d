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
    /** How a request reuses past sessions. */
    mode: "kv" as AskMode,
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
