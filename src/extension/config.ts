import path from "node:path";
import * as vscode from "vscode";
import type {GpuSetting, HostSettings, KvCacheSetting, MemoryScope} from "./settings.js";

/** Only when VS Code gives no value: package.json declares the engine's DEFAULT_EXCLUDE_GLOBS as the default (a unit test keeps them equal). */
const fallbackExcludes: string[] = [];

function oneOf<T extends string>(value: unknown, allowed: readonly T[], fallback: T): T {
    return allowed.includes(value as T) ? value as T : fallback;
}

function positive(value: unknown, fallback: number, min = 1): number {
    return typeof value === "number" && Number.isFinite(value) && value >= min ? Math.floor(value) : fallback;
}

/** Reads `hindsight.*`; invalid values fall back to the defaults instead of failing. */
export function readSettings(context: vscode.ExtensionContext): HostSettings {
    const c = vscode.workspace.getConfiguration("hindsight");
    const storage = (c.get<string>("storageFolder") ?? "").trim();
    return {
        modelPath: (c.get<string>("modelPath") ?? "").trim(),
        embeddingModelPath: (c.get<string>("embeddingModelPath") ?? "").trim(),
        gpu: oneOf<GpuSetting>(c.get("gpu"), ["auto", "cuda", "vulkan", "cpu"], "auto"),
        kvCacheType: oneOf<KvCacheSetting>(c.get("kvCacheType"), ["f16", "f32", "q8_0", "q4_0"], "f16"),
        logsPerRequest: positive(c.get("logsPerRequest"), 3, 0),
        memoryScope: oneOf<MemoryScope>(c.get("memoryScope"), ["workspace", "global"], "workspace"),
        storageFolder: storage !== "" ? path.resolve(storage.replace(/^~(?=\/|$)/, process.env.HOME ?? "~"))
            : vscode.Uri.joinPath(context.globalStorageUri, "store").fsPath,
        excludeGlobs: (c.get<unknown[]>("excludeGlobs") ?? fallbackExcludes).filter((g): g is string => typeof g === "string"),
        maxRounds: positive(c.get("maxRounds"), 4),
        maxTokens: positive(c.get("maxTokens"), 384),
        threads: positive(c.get("threads"), 0, 0),
        inline: {
            enabled: c.get<boolean>("inline.enabled") ?? true,
            delayMs: positive(c.get("inline.delayMs"), 300, 0),
            useMemory: c.get<boolean>("inline.useMemory") ?? false,
            maxTokens: positive(c.get("inline.maxTokens"), 48)
        }
    };
}

/** Settings whose change needs the model or store to be loaded again. */
export const reloadingSettings = ["hindsight.modelPath", "hindsight.embeddingModelPath", "hindsight.gpu", "hindsight.kvCacheType", "hindsight.threads", "hindsight.storageFolder"];
