/** The `hindsight.*` settings as the host uses them (read from VS Code in config.ts; plain data here). */
import type {GpuChoice, KvCacheType, MemoryScope} from "../engine/options.js";

export type GpuSetting = GpuChoice;
export type KvCacheSetting = KvCacheType;
export type {MemoryScope};

export interface HostSettings {
    /** Path of a GGUF file; empty = HINDSIGHT_MODEL, else the cached default model. */
    modelPath: string;
    /** Path of a GGUF used only for retrieval embeddings; empty = the chat model's own. */
    embeddingModelPath: string;
    gpu: GpuSetting;
    kvCacheType: KvCacheSetting;
    logsPerRequest: number;
    memoryScope: MemoryScope;
    /** Absolute folder of the log store (already resolved from the empty default). */
    storageFolder: string;
    excludeGlobs: string[];
    maxRounds: number;
    maxTokens: number;
    /** 0 = automatic (HINDSIGHT_THREADS, else the number of cores). */
    threads: number;
    inline: {enabled: boolean, delayMs: number, useMemory: boolean, maxTokens: number};
}

/** The workspace key logs are stored and searched under: the folder, or one shared key for the global scope. */
export const GLOBAL_WORKSPACE_KEY = "global";

export function workspaceKey(scope: MemoryScope, folder: string | undefined): string {
    return scope === "global" || folder == null ? GLOBAL_WORKSPACE_KEY : folder;
}
