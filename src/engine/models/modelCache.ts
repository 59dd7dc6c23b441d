import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";

/**
 * The folder where pulled models are kept: `$HINDSIGHT_MODELS_DIR`, else `$XDG_CACHE_HOME/hindsight/models`,
 * else `~/.cache/hindsight/models`. Models are large and re-downloadable, so they live in a cache folder,
 * never in a repository or the log store.
 */
export function defaultModelsDir(env: NodeJS.ProcessEnv = process.env): string {
    if (env.HINDSIGHT_MODELS_DIR)
        return path.resolve(env.HINDSIGHT_MODELS_DIR);
    const cacheHome = env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache");
    return path.join(cacheHome, "hindsight", "models");
}

/**
 * What the cache remembers about one pulled source (`pypi:NAME` or `uri:URI`), so a later pull can
 * answer from disk without asking pip or the network which file the source holds.
 */
export interface CacheRecord {
    source: string;
    /** The model's files inside the cache folder with their sizes; the first is the one llama.cpp loads. */
    files: {file: string, bytes: number}[];
    architecture: string;
    pulledAt: string;
}

const recordsFolder = ".sources";

function recordPath(cacheDir: string, source: string): string {
    const safe = source.toLowerCase().replace(/[^a-z0-9._-]+/g, "_").slice(0, 200);
    return path.join(cacheDir, recordsFolder, safe + ".json");
}

/** The record of `source`, or undefined when there is none or it cannot be read. */
export async function readCacheRecord(cacheDir: string, source: string): Promise<CacheRecord | undefined> {
    try {
        const value: unknown = JSON.parse(await fsp.readFile(recordPath(cacheDir, source), "utf8"));
        if (typeof value !== "object" || value == null)
            return undefined;
        const record = value as Partial<CacheRecord>;
        if (record.source !== source || typeof record.architecture !== "string" || !Array.isArray(record.files) ||
            record.files.length === 0 || !record.files.every(isPlainFile))
            return undefined;
        return record as CacheRecord;
    } catch {
        return undefined;
    }
}

/** Writes the record atomically (temp file + rename), so a concurrent reader sees the old record or the new one. */
export async function writeCacheRecord(cacheDir: string, record: CacheRecord): Promise<void> {
    const target = recordPath(cacheDir, record.source);
    await fsp.mkdir(path.dirname(target), {recursive: true});
    const temp = `${target}.${process.pid}.${Date.now()}.tmp`;
    await fsp.writeFile(temp, JSON.stringify(record, null, 2) + "\n");
    await fsp.rename(temp, target);
}

function isPlainFile(item: unknown): boolean {
    const {file, bytes} = (item ?? {}) as {file?: unknown, bytes?: unknown};
    return typeof file === "string" && typeof bytes === "number" && file !== "" && !file.startsWith(".") &&
        !file.includes("/") && !file.includes("\\");
}
