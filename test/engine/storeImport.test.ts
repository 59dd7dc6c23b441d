import assert from "node:assert/strict";
import {spawn} from "node:child_process";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import {fileURLToPath} from "node:url";
import {HindsightError} from "../../src/engine/errors.js";
import {LogStore} from "../../src/engine/store/index.js";
import {WriterLock, WRITER_LOCK_FILE} from "../../src/engine/store/WriterLock.js";
import {kvBytesFor, makeTempDir, newLog, rawCounts, removeDir, tempDirPerTest, tokensFor} from "../support/storeFixtures.js";

const importChild = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "support", "storeImportChild.js");
/** More logs than one import batch (64), so a file refused at its end would have had logs written already. */
const LOGS = 70;

type Json = Record<string, unknown>;

/** An export of LOGS logs, each with one KV row (fingerprint "fa") and a 2-dimensional embedding in space "e". */
async function makeExport(dir: string): Promise<string[]> {
    const store = await LogStore.open(path.join(dir, "source"));
    try {
        for (let i = 0; i < LOGS; i++) {
            const id = `log-${String(i).padStart(2, "0")}`;
            await store.addLog(newLog({id, task: `task ${i}`, nTokens: 4}), {
                kv: [{fingerprint: "fa", nTokens: 4, tokens: tokensFor(id, 4), data: kvBytesFor(id, 1000)}],
                embedding: {space: "e", vector: [1, i + 1]}
            });
        }
        const file = path.join(dir, "good.jsonl");
        assert.equal(await store.exportTo(file), LOGS);
        return (await fs.readFile(file, "utf8")).trimEnd().split("\n");
    } finally {
        store.close();
    }
}

/** The numbers of the lines of `kind` (1-based), in order. */
function linesOf(lines: string[], kind: string): number[] {
    return lines.flatMap((line, i) => (JSON.parse(line) as Json).kind === kind ? [i + 1] : []);
}

describe("LogStore import: a crafted export file is refused whole", function () {
    this.timeout(120_000);
    let dir: string;
    let lines: string[];
    let store: LogStore;
    let counts: {logs: number, kv: number, vectors: number};

    before(async function () {
        dir = await makeTempDir();
        lines = await makeExport(dir);
    });

    after(async function () {
        await removeDir(dir);
    });

    beforeEach(async function () {
        await removeDir(path.join(dir, "target"));
        store = await LogStore.open(path.join(dir, "target"));
        await store.addLog(newLog({id: "already-here"}), {embedding: {space: "e", vector: [1, 0]}});
        counts = await rawCounts(store.dir);
    });

    afterEach(function () {
        store.close();
    });

    /** `edit` changes the lines (1-based numbers, as the error names them); the import must fail naming `lineNo` and `why`. */
    async function refused(edit: (lines: string[]) => string[], lineNo: number, why: RegExp): Promise<void> {
        const file = path.join(dir, "crafted.jsonl");
        await fs.writeFile(file, edit([...lines]).join("\n") + "\n");
        await assert.rejects(store.importFrom(file), (err: HindsightError) => {
            assert.ok(err instanceof HindsightError, String(err));
            assert.equal(err.code, "INVALID_ARGUMENT", err.message);
            assert.match(err.message, new RegExp(`line ${lineNo}: `), err.message);
            assert.match(err.message, why);
            assert.match(err.message, /Nothing was imported\./);
            assert.doesNotMatch(err.message, /disk/);
            return true;
        });
        assert.deepEqual(await rawCounts(store.dir), counts, "nothing partial is left in the store");
    }

    /** Replaces line `n` (1-based) with `change(parsed line)`. */
    const at = (n: number, change: (line: Json) => unknown) => (all: string[]) => {
        all[n - 1] = JSON.stringify(change(JSON.parse(all[n - 1]!) as Json));
        return all;
    };

    it("accepts the untouched file", async function () {
        const file = path.join(dir, "good.jsonl");
        assert.deepEqual(await store.importFrom(file), {added: LOGS, skipped: 0, kvKept: 0, kvDropped: LOGS});
    });

    it("refuses nTokens past Int32 (1e15), in a KV row and in a log", async function () {
        const kv = linesOf(lines, "kv").at(-1)!;
        await refused(at(kv, (line) => ({...line, nTokens: 1e15})), kv, /nTokens must be an integer from 0 to 2147483647, got 1000000000000000/);
        const log = linesOf(lines, "log").at(-1)!;
        await refused(at(log, (line) => ({...line, log: {...line.log as Json, nTokens: 1e15}})), log, /nTokens must be an integer from 0 to 2147483647/);
    });

    it("refuses token ids out of range ([-1, 1e12]) and not numbers ([\"a\", null])", async function () {
        const kv = linesOf(lines, "kv").at(-1)!;
        await refused(at(kv, (line) => ({...line, nTokens: 2, tokens: [-1, 1e12]})), kv, /token ids must be integers from 0 to 2147483647; token 0 is -1/);
        await refused(at(kv, (line) => ({...line, nTokens: 2, tokens: [5, 1e12]})), kv, /token 1 is 1000000000000/);
        await refused(at(kv, (line) => ({...line, nTokens: 2, tokens: ["a", null]})), kv, /tokens must hold numbers only; item 0 is "a"/);
        await refused(at(kv, (line) => ({...line, tokens: [1, 2]})), kv, /tokens must list its 4 cells/);
    });

    it("refuses a 4-dimensional vector after 2-dimensional ones, and vectors that do not match the store's", async function () {
        const last = linesOf(lines, "embedding").at(-1)!;
        await refused(at(last, (line) => ({...line, vector: [1, 2, 3, 4]})), last,
            /embedding space "e" has 2 dimensions earlier in the file; this vector has 4/);
        await refused(at(last, (line) => ({...line, vector: [1, "2"]})), last, /vector must hold numbers only; item 1 is "2"/);

        const file = path.join(dir, "three.jsonl");
        await fs.writeFile(file, lines.map((text) => {
            const line = JSON.parse(text) as Json;
            return JSON.stringify(line.kind === "embedding" ? {...line, vector: [1, 2, 3]} : line);
        }).join("\n") + "\n");
        await assert.rejects(store.importFrom(file), /its embeddings in space e have 3 dimensions, this store's have 2\. Nothing was imported\./);
        assert.deepEqual(await rawCounts(store.dir), counts);
    });

    it("refuses duplicate fingerprints for one log and duplicate log ids", async function () {
        const kv = linesOf(lines, "kv").at(-1)!;
        // The KV line and its one part line, twice.
        await refused((all) => [...all.slice(0, kv + 1), ...all.slice(kv - 1)], kv + 2, /a second KV row for fingerprint "fa"/);
        const log = linesOf(lines, "log").at(-1)!;
        const first = linesOf(lines, "log")[0]!;
        await refused(at(log, (line) => ({...line, log: {...line.log as Json, id: "log-00"}})), log, /a second log with id "log-00"/);
        assert.ok(first < log);
    });

    it("refuses unknown fields with a clear message, not one that blames the disk", async function () {
        const log = linesOf(lines, "log").at(-1)!;
        await refused(at(log, (line) => ({...line, log: {...line.log as Json, evil: true}})), log, /a log line's log has unknown field "evil"/);
        const kv = linesOf(lines, "kv").at(-1)!;
        await refused(at(kv, (line) => ({...line, extra: 1})), kv, /a KV line has unknown field "extra"/);
        await refused(at(1, (line) => ({...line, more: 1})), 1, /the header has unknown field "more"/);
    });

    it("refuses a null line, naming it", async function () {
        const log = linesOf(lines, "log").at(-1)!;
        await refused((all) => [...all.slice(0, log - 1), "null", ...all.slice(log - 1)], log, /the line is null, not an object/);
        await refused((all) => [...all, "[1, 2]"], lines.length + 1, /the line is an array, not an object/);
    });

    it("refuses an oversized line before reading it whole, and oversized or lying blob sizes", async function () {
        const huge = `{"kind":"kvPart","data":"${"A".repeat(33 * 1024 * 1024)}"}`;
        await refused((all) => [...all, huge], lines.length + 1, /longer than 33554432 bytes/);
        const kv = linesOf(lines, "kv").at(-1)!;
        await refused(at(kv, (line) => ({...line, bytes: 2 ** 31, parts: 256})), kv, /bytes must be an integer from 0 to 1073741824/);
        await refused(at(kv, (line) => ({...line, bytes: 10, parts: 1})), kv + 1, /KV data is longer than the 10 bytes its KV line declares/);
        await refused(at(kv + 1, () => ({kind: "kvPart", data: "not base64!"})), kv + 1, /KV data is not base64/);
    });

    it("refuses a file cut short inside a log's parts", async function () {
        const kv = linesOf(lines, "kv").at(-1)!;
        await refused((all) => all.slice(0, kv + 1), kv + 1, /the file ends inside a log's parts/);
    });
});

describe("LogStore import: KV and concurrency", function () {
    this.timeout(180_000);
    let dir: string;

    before(async function () {
        dir = await makeTempDir();
        await makeExport(dir);
    });

    after(async function () {
        await removeDir(dir);
    });

    it("drops the file's KV by default and keeps it only when the caller accepts the risk", async function () {
        const file = path.join(dir, "good.jsonl");
        await using dropped = await LogStore.open(path.join(dir, "dropped"));
        assert.deepEqual(await dropped.importFrom(file), {added: LOGS, skipped: 0, kvKept: 0, kvDropped: LOGS});
        assert.deepEqual(await dropped.kvInfo("log-00"), [], "no KV: it is encoded from the log's text when first used");
        assert.equal((await dropped.getLog("log-00"))?.task, "task 0");
        assert.equal((await dropped.searchVector("e", [1, 1], {k: 1}))[0]?.id, "log-00", "embeddings are kept");

        await using kept = await LogStore.open(path.join(dir, "kept"));
        assert.deepEqual(await kept.importFrom(file, {keepKv: {acceptRisk: true}}), {added: LOGS, skipped: 0, kvKept: LOGS, kvDropped: 0});
        const kv = await kept.getKv("log-00", "fa");
        assert.ok(kv != null && Buffer.from(kv.data).equals(Buffer.from(kvBytesFor("log-00", 1000))));
        assert.deepEqual(await kept.importFrom(file, {keepKv: {acceptRisk: true}}), {added: 0, skipped: LOGS, kvKept: 0, kvDropped: 0});
        assert.equal((await rawCounts(kept.dir)).kv, LOGS);
    });

    it("adds each id once when two processes import the same file at the same moment", async function () {
        const file = path.join(dir, "good.jsonl");
        for (let round = 0; round < 3; round++) {
            const storeDir = path.join(dir, `concurrent-${round}`);
            (await LogStore.open(storeDir)).close();
            const startAt = Date.now() + 1500;
            const children = [0, 1].map(() => {
                const child = spawn(process.execPath, [importChild, storeDir, file],
                    {stdio: ["ignore", "pipe", "pipe"], env: {...process.env, LANCEDB_LOG: "error", STORE_TEST_START_AT: String(startAt)}});
                let out = "";
                child.stdout.setEncoding("utf8").on("data", (chunk: string) => out += chunk);
                child.stderr.setEncoding("utf8").on("data", (chunk: string) => out += chunk);
                return new Promise<{code: number | null, out: string}>((resolve) => child.on("close", (code) => resolve({code, out})));
            });
            const results = await Promise.all(children);
            assert.deepEqual(results.map((r) => r.code), [0, 0], results.map((r) => r.out).join("\n"));
            const added = results.map((r) => (JSON.parse(r.out) as {added: number}).added);
            assert.equal(added[0]! + added[1]!, LOGS, `round ${round}: the two imports added ${added.join(" and ")}`);
            assert.deepEqual(await rawCounts(storeDir), {logs: LOGS, kv: 0, vectors: LOGS}, `round ${round}: one row per id`);
            await using store = await LogStore.open(storeDir);
            assert.equal(new Set((await store.listLogs()).map((log) => log.id)).size, LOGS);
            const found = new Set((await store.searchVector("e", [1, 1], {k: LOGS + 10})).map((hit) => hit.id));
            assert.equal(found.size, LOGS, "every log kept its embedding (no import deleted another's parts)");
        }
    });
});

describe("LogStore export file and writer lock", function () {
    this.timeout(60_000);
    const tempDir = tempDirPerTest();

    it("writes the export through a private temporary file (only its owner can read the logs)", async function () {
        const dir = tempDir();
        await using store = await LogStore.open(path.join(dir, "store"));
        await store.addLog(newLog({id: "a"}));
        const file = path.join(dir, "out.jsonl");
        assert.equal(await store.exportTo(file), 1);
        assert.equal((await fs.stat(file)).mode & 0o777, 0o600, "the export holds the logs: only its owner reads it");
        assert.deepEqual((await fs.readdir(dir)).sort(), ["out.jsonl", "store"], "no temporary file is left");
    });

    it("breaks a lock left by a dead process, and waits for a live one", async function () {
        const dir = tempDir();
        await fs.writeFile(path.join(dir, WRITER_LOCK_FILE), JSON.stringify({pid: 2 ** 22 + 12345, host: os.hostname(), token: "dead"}));
        const lock = await WriterLock.acquire(dir, {timeoutMs: 2000});
        await assert.rejects(WriterLock.acquire(dir, {timeoutMs: 300}), /Another Hindsight process \(pid \d+ on .*\) is writing to the log store/);
        await lock.release();
        await assert.rejects(fs.access(path.join(dir, WRITER_LOCK_FILE)));
        await (await WriterLock.acquire(dir, {timeoutMs: 300})).release();
    });
});
