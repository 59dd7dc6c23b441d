import path from "node:path";
import {defaults, gpuChoices, kvCacheTypes, memoryScopes, type GpuChoice, type KvCacheType, type MemoryScope} from "../engine/options.js";

/** The `hindsight.*` settings as the host uses them (read from VS Code in config.ts; plain data here). */
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

/**
 * The range of each number setting, as package.json declares it (`minimum`/`maximum`; a unit test keeps the two
 * equal). Values are clamped to it when read, because a workspace's settings file is not checked by VS Code.
 */
export const SETTING_LIMITS = {
    "logsPerRequest": {min: 0, max: 10, fallback: defaults.k},
    "maxRounds": {min: 1, max: 16, fallback: defaults.maxRounds},
    "maxTokens": {min: 16, max: 4096, fallback: defaults.maxTokensPerRound},
    "threads": {min: 0, max: 256, fallback: defaults.threads},
    "inline.delayMs": {min: 0, max: 5000, fallback: defaults.inline.delayMs},
    "inline.maxTokens": {min: 1, max: 256, fallback: defaults.inline.maxTokens}
} as const satisfies Record<string, {min: number, max: number, fallback: number}>;

export type NumberSetting = keyof typeof SETTING_LIMITS;

/** `value` as a whole number within the setting's range; anything that is not a finite number gives the default. */
export function clampSetting(name: NumberSetting, value: unknown): number {
    const {min, max, fallback} = SETTING_LIMITS[name];
    if (typeof value !== "number" || !Number.isFinite(value))
        return fallback;
    return Math.min(max, Math.max(min, Math.floor(value)));
}

/** Where settings come from: `get` is VS Code's merged value, `user` the user's (or machine) value alone, without the workspace's. */
export interface SettingsSource {
    get(key: string): unknown;
    user(key: string): unknown;
}

/** Only when VS Code gives no value: package.json declares the engine's DEFAULT_EXCLUDE_GLOBS as the default (a unit test keeps them equal). */
const fallbackExcludes: string[] = [];

function oneOf<T extends string>(value: unknown, allowed: readonly T[], fallback: T): T {
    return allowed.includes(value as T) ? value as T : fallback;
}

function text(value: unknown): string {
    return typeof value === "string" ? value.trim() : "";
}

/**
 * The host settings from `hindsight.*` values. Invalid values fall back to the defaults instead of failing, and
 * numbers are clamped to their range. What a workspace cannot do: remove an exclude glob (its
 * `excludeGlobsExtra` only adds to the user's `excludeGlobs`), or, when untrusted, widen the memory to every
 * workspace's sessions (`memoryScope` is then the user's own).
 */
export function settingsFrom(source: SettingsSource, env: {trusted: boolean, defaultStorageFolder: string, home: string | undefined}): HostSettings {
    // Machine-scoped in package.json: which model and store to load is never a workspace's choice.
    const storage = text(source.user("storageFolder"));
    return {
        modelPath: text(source.user("modelPath")),
        embeddingModelPath: text(source.user("embeddingModelPath")),
        gpu: oneOf(source.get("gpu"), gpuChoices, defaults.gpu),
        kvCacheType: oneOf(source.get("kvCacheType"), kvCacheTypes, defaults.kvType),
        logsPerRequest: clampSetting("logsPerRequest", source.get("logsPerRequest")),
        memoryScope: oneOf(env.trusted ? source.get("memoryScope") : source.user("memoryScope"), memoryScopes, defaults.memoryScope),
        storageFolder: storage !== "" ? path.resolve(storage.replace(/^~(?=\/|$)/, env.home ?? "~")) : env.defaultStorageFolder,
        excludeGlobs: mergeExcludeGlobs(source.user("excludeGlobs"), source.get("excludeGlobsExtra"), fallbackExcludes),
        maxRounds: clampSetting("maxRounds", source.get("maxRounds")),
        maxTokens: clampSetting("maxTokens", source.get("maxTokens")),
        threads: clampSetting("threads", source.get("threads")),
        inline: {
            enabled: typeof source.get("inline.enabled") === "boolean" ? source.get("inline.enabled") === true : defaults.inline.enabled,
            delayMs: clampSetting("inline.delayMs", source.get("inline.delayMs")),
            useMemory: typeof source.get("inline.useMemory") === "boolean" ? source.get("inline.useMemory") === true : defaults.inline.useMemory,
            maxTokens: clampSetting("inline.maxTokens", source.get("inline.maxTokens"))
        }
    };
}

/**
 * The exclude globs: the user's list (defaults included), plus any extra ones; extra globs only ever add, so a
 * `!` glob (which takes paths back out) among them is dropped: a workspace could otherwise set `!**`.
 */
export function mergeExcludeGlobs(base: unknown, extra: unknown, fallback: readonly string[]): string[] {
    const strings = (value: unknown) => Array.isArray(value) ? value.filter((g): g is string => typeof g === "string" && g.trim() !== "") : [];
    const list = Array.isArray(base) ? strings(base) : [...fallback];
    return [...new Set([...list, ...strings(extra).filter((g) => !g.trim().startsWith("!"))])];
}

/** The workspace key logs are stored and searched under: the folder, or one shared key for the global scope. */
export const GLOBAL_WORKSPACE_KEY = "global";

export function workspaceKey(scope: MemoryScope, folder: string | undefined): string {
    return scope === "global" || folder == null ? GLOBAL_WORKSPACE_KEY : folder;
}
