import path from "node:path";
import * as vscode from "vscode";
import {defaults, gpuChoices, kvCacheTypes, memoryScopes} from "../engine/options.js";
import type {HostSettings} from "./settings.js";

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
        gpu: oneOf(c.get("gpu"), gpuChoices, defaults.gpu),
        kvCacheType: oneOf(c.get("kvCacheType"), kvCacheTypes, defaults.kvType),
        logsPerRequest: positive(c.get("logsPerRequest"), defaults.k, 0),
        memoryScope: oneOf(c.get("memoryScope"), memoryScopes, defaults.memoryScope),
        storageFolder: storage !== "" ? path.resolve(storage.replace(/^~(?=\/|$)/, process.env.HOME ?? "~"))
            : vscode.Uri.joinPath(context.globalStorageUri, "store").fsPath,
        excludeGlobs: (c.get<unknown[]>("excludeGlobs") ?? fallbackExcludes).filter((g): g is string => typeof g === "string"),
        maxRounds: positive(c.get("maxRounds"), defaults.maxRounds),
        maxTokens: positive(c.get("maxTokens"), defaults.maxTokensPerRound),
        threads: positive(c.get("threads"), defaults.threads, 0),
        inline: {
            enabled: c.get<boolean>("inline.enabled") ?? defaults.inline.enabled,
            delayMs: positive(c.get("inline.delayMs"), defaults.inline.delayMs, 0),
            useMemory: c.get<boolean>("inline.useMemory") ?? defaults.inline.useMemory,
            maxTokens: positive(c.get("inline.maxTokens"), defaults.inline.maxTokens)
        }
    };
}

/** Settings whose change needs the model or store to be loaded again. */
export const reloadingSettings = ["hindsight.modelPath", "hindsight.embeddingModelPath", "hindsight.gpu", "hindsight.kvCacheType", "hindsight.threads", "hindsight.storageFolder"];
