import crypto from "node:crypto";
import fs from "node:fs";
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";

/**
 * SHA-256 of a model file, computed once and cached by (path, size, mtime) in a small JSON file, because hashing a
 * multi-gigabyte GGUF takes seconds and the hash is needed on every start (it is part of every KV log's fingerprint).
 */
export function defaultHashCacheFile(): string {
    const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache");
    return path.join(base, "hindsight", "file-hashes.json");
}

export async function fileSha256(filePath: string, cacheFile = defaultHashCacheFile()): Promise<string> {
    const abs = path.resolve(filePath);
    const stat = await fsp.stat(abs);
    const key = `${abs}|${stat.size}|${Math.floor(stat.mtimeMs)}`;

    let cache: Record<string, string> = {};
    try {
        cache = JSON.parse(await fsp.readFile(cacheFile, "utf8")) as Record<string, string>;
    } catch {
        // no cache yet, or unreadable: recompute
    }
    const hit = cache[key];
    if (typeof hit === "string" && /^[0-9a-f]{64}$/.test(hit))
        return hit;

    const hash = crypto.createHash("sha256");
    await new Promise<void>((resolve, reject) => {
        fs.createReadStream(abs, {highWaterMark: 4 << 20})
            .on("data", (chunk) => hash.update(chunk))
            .on("end", () => resolve())
            .on("error", reject);
    });
    const digest = hash.digest("hex");

    try {
        for (const k of Object.keys(cache))
            if (k.startsWith(abs + "|"))
                delete cache[k];
        cache[key] = digest;
        await fsp.mkdir(path.dirname(cacheFile), {recursive: true});
        const tmp = `${cacheFile}.${process.pid}.tmp`;
        await fsp.writeFile(tmp, JSON.stringify(cache));
        await fsp.rename(tmp, cacheFile);
    } catch {
        // a read-only cache folder only costs a re-hash next time
    }
    return digest;
}
