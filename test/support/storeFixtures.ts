import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type {NewLog} from "../../src/engine/store/index.js";
import {loadLance} from "../../src/engine/store/lance.js";

// Quieter LanceDB (it warns on every table it creates). Read when the native module loads.
process.env.LANCEDB_LOG ??= "error";

export async function makeTempDir(prefix = "hindsight-store-"): Promise<string> {
    return fs.mkdtemp(path.join(os.tmpdir(), prefix));
}

export async function removeDir(dir: string): Promise<void> {
    await fs.rm(dir, {recursive: true, force: true});
}

/** Call inside a `describe`: each of its tests gets a fresh temporary folder, removed after it. Returns the folder's getter. */
export function tempDirPerTest(): () => string {
    let dir: string | undefined;
    beforeEach(async function () {
        dir = await makeTempDir();
    });
    afterEach(async function () {
        if (dir != null)
            await removeDir(dir);
    });
    return () => dir!;
}

/** Deterministic bytes derived from `id` (xorshift32 seeded by a string hash), so a reader can check a blob it did not write. */
export function kvBytesFor(id: string, size: number): Uint8Array {
    let seed = 2166136261;
    for (let i = 0; i < id.length; i++)
        seed = Math.imul(seed ^ id.charCodeAt(i), 16777619) >>> 0;
    let x = seed || 1;
    const words = new Uint32Array(Math.ceil(size / 4));
    for (let i = 0; i < words.length; i++) {
        x ^= x << 13;
        x >>>= 0;
        x ^= x >>> 17;
        x ^= x << 5;
        x >>>= 0;
        words[i] = x;
    }
    return new Uint8Array(words.buffer, 0, size);
}

/** A deterministic 8-dimensional vector for `id`. */
export function vectorFor(id: string): number[] {
    const bytes = kvBytesFor(id, 8);
    return Array.from(bytes, (b) => (b + 1) / 256);
}

export function tokensFor(id: string, n: number): number[] {
    return Array.from(kvBytesFor(id + "/tokens", n), (b, i) => b * 100 + i);
}

export function newLog(overrides: Partial<NewLog> = {}): NewLog {
    return {
        workspace: "/work/project",
        task: "Fix the failing parser test",
        lastResponse: "I changed the tokenizer to accept trailing commas.",
        logText: "Looked at the test.\n\nI changed the tokenizer to accept trailing commas.",
        nTokens: 4,
        ...overrides
    };
}

/** Row counts read past the store (KV rows, vector rows in all spaces). */
export async function rawCounts(storeDir: string): Promise<{logs: number, kv: number, vectors: number}> {
    const {lancedb} = await loadLance();
    const db = await lancedb.connect(storeDir);
    try {
        let vectors = 0;
        for (const name of await db.tableNames())
            if (name.startsWith("vectors_"))
                vectors += await (await db.openTable(name)).countRows();
        return {logs: await (await db.openTable("logs")).countRows(), kv: await (await db.openTable("kv")).countRows(), vectors};
    } finally {
        db.close();
    }
}
