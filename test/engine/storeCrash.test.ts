import assert from "node:assert/strict";
import {spawn, type ChildProcess} from "node:child_process";
import path from "node:path";
import {fileURLToPath} from "node:url";
import {LogStore} from "../../src/engine/store/index.js";
import {loadLance} from "../../src/engine/store/lance.js";
import {kvBytesFor, makeTempDir, removeDir, tokensFor, vectorFor} from "../support/storeFixtures.js";

const childScript = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "support", "storeWriterChild.js");
const KV_BYTES = 1024 * 1024;
/** Kill -9 trials of the crash test: HINDSIGHT_CRASH_TRIALS (e.g. 100 for a long run), else 16. */
const CRASH_TRIALS = crashTrials(process.env.HINDSIGHT_CRASH_TRIALS);

function crashTrials(value: string | undefined): number {
    if (value == null || value === "")
        return 16;
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1)
        throw new Error(`HINDSIGHT_CRASH_TRIALS must be a positive integer, got ${JSON.stringify(value)}`);
    return n;
}

interface Writer {
    child: ChildProcess;
    /** Ids the child reported as committed. */
    added: string[];
    stderr: string;
    opened: Promise<void>;
    exited: Promise<number | null>;
}

function startWriter(storeDir: string, prefix: string, count: number | "forever", mode?: "churn", startAt?: number): Writer {
    const child = spawn(process.execPath, [childScript, storeDir, prefix, String(count), String(KV_BYTES), ...(mode != null ? [mode] : [])],
        {stdio: ["ignore", "pipe", "pipe"], env: {...process.env, LANCEDB_LOG: "error", STORE_TEST_START_AT: String(startAt ?? 0)}});
    const writer: Writer = {child, added: [], stderr: "", opened: undefined!, exited: undefined!};
    let openedResolve!: () => void;
    writer.opened = new Promise((resolve) => openedResolve = resolve);
    let buffered = "";
    child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
        buffered += chunk;
        const lines = buffered.split("\n");
        buffered = lines.pop()!;
        for (const line of lines) {
            if (line === "opened")
                openedResolve();
            else if (line.startsWith("added "))
                writer.added.push(line.slice("added ".length));
        }
    });
    child.stderr!.setEncoding("utf8").on("data", (chunk: string) => writer.stderr += chunk);
    writer.exited = new Promise((resolve) => child.on("close", (code) => {
        openedResolve();
        resolve(code);
    }));
    return writer;
}

/** Every listed log has its KV with the bytes the child derived from its id, and searches return listed logs only. */
async function checkStore(store: LogStore): Promise<Set<string>> {
    const logs = await store.listLogs();
    const ids = new Set(logs.map((log) => log.id));
    assert.equal(ids.size, logs.length, "no log is listed twice");
    for (const log of logs) {
        const kv = await store.getKv(log.id, "fp-test");
        assert.ok(kv != null, `KV of ${log.id} is loadable`);
        assert.equal(kv.data.byteLength, KV_BYTES);
        assert.ok(Buffer.from(kv.data).equals(Buffer.from(kvBytesFor(log.id, KV_BYTES))), `KV bytes of ${log.id}`);
        assert.deepEqual(kv.tokens, tokensFor(log.id, 16));
    }
    const everything = logs.length + 50;
    const vectorHits = await store.searchVector("test-space", vectorFor("probe"), {k: everything});
    assert.deepEqual(new Set(vectorHits.map((hit) => hit.id)), ids, "vector search returns exactly the committed logs");
    const textHits = await store.searchText("refactor parser", {k: everything});
    assert.deepEqual(new Set(textHits.map((hit) => hit.id)), ids, "text search returns exactly the committed logs");
    return ids;
}

/** KV and vector rows whose log row is missing, read past the store. */
async function countOrphans(storeDir: string): Promise<number> {
    const {lancedb} = await loadLance();
    const db = await lancedb.connect(storeDir);
    try {
        const logIds = new Set((await (await db.openTable("logs")).query().select(["id"]).toArray()).map((row) => String(row.id)));
        let orphans = 0;
        for (const name of await db.tableNames())
            if (name === "kv" || name.startsWith("vectors_"))
                for (const row of await (await db.openTable(name)).query().select(["logId"]).toArray())
                    if (!logIds.has(String(row.logId)))
                        orphans++;
        return orphans;
    } finally {
        db.close();
    }
}

describe("LogStore across processes", function () {
    this.timeout(180_000);
    let dir: string;

    beforeEach(async function () {
        dir = await makeTempDir();
    });

    afterEach(async function () {
        await removeDir(dir);
    });

    it("stays consistent when a writer is killed with SIGKILL at random moments", async function () {
        // About 1.5 s a trial on a slow machine.
        this.timeout(Math.max(180_000, CRASH_TRIALS * 4000));
        const storeDir = path.join(dir, "store");
        const committed: string[] = [];
        const rounds = CRASH_TRIALS;
        for (let round = 0; round < rounds; round++) {
            const writer = startWriter(storeDir, `r${round}`, "forever");
            if (round % 4 === 0) {
                // Kill while starting: loading LanceDB, creating the store (round 0), cleaning up, first writes.
                await new Promise((resolve) => setTimeout(resolve, 100 + Math.random() * 500));
            } else {
                // Kill while writing: some rounds right after opening, others after a few logs.
                await writer.opened;
                await new Promise((resolve) => setTimeout(resolve, Math.random() * (round % 2 === 0 ? 60 : 600)));
            }
            writer.child.kill("SIGKILL");
            const code = await writer.exited;
            assert.equal(code, null, `writer ${round} was killed, not failed: ${writer.stderr}`);
            committed.push(...writer.added);
        }
        assert.ok(committed.length > 0, "the writers committed some logs between kills");

        await using store = await LogStore.open(storeDir);
        const ids = await checkStore(store);
        // Every log a writer saw committed survived; the only others are ones committed just before a kill, before they were reported.
        for (const id of committed)
            assert.ok(ids.has(id), `committed log ${id} is in the store`);
        assert.ok(ids.size <= committed.length + rounds);

        // Parts of interrupted writes may be left; they stay invisible (checked above) and a cleanup removes them.
        await store.collectOrphans(0);
        assert.equal(await countOrphans(storeDir), 0);
        assert.deepEqual(await checkStore(store), ids);
    });

    it("opens a store whose creation was killed part way", async function () {
        // Creating a store takes a writer from about 200 to 350 ms after it starts; kill it at points across that span.
        for (const delay of [150, 200, 230, 260, 290, 320, 350, 400]) {
            const storeDir = path.join(dir, `store-${delay}`);
            const writer = startWriter(storeDir, "c", "forever");
            await new Promise((resolve) => setTimeout(resolve, delay + Math.random() * 30));
            writer.child.kill("SIGKILL");
            await writer.exited;

            await using store = await LogStore.open(storeDir);
            const ids = await checkStore(store);
            for (const id of writer.added)
                assert.ok(ids.has(id), `committed log ${id} is in the store`);
            await store.addLog({id: "after", workspace: "w", task: "refactor parser", lastResponse: "", logText: "", nTokens: 0},
                {embedding: {space: "test-space", vector: vectorFor("after")}});
            assert.equal((await store.searchVector("test-space", vectorFor("after"), {k: 1}))[0]?.id, "after");
        }
    });

    it("lets several processes create one store at the same moment", async function () {
        for (let round = 0; round < 4; round++) {
            const storeDir = path.join(dir, `store-${round}`);
            const startAt = Date.now() + 700;
            const writers = ["p", "q", "r", "s"].map((prefix) => startWriter(storeDir, prefix, 1, undefined, startAt));
            const codes = await Promise.all(writers.map((writer) => writer.exited));
            assert.deepEqual(codes, [0, 0, 0, 0], writers.map((writer) => writer.stderr).join("\n"));
            await using store = await LogStore.open(storeDir);
            assert.deepEqual([...await checkStore(store)].sort(), ["p-0", "q-0", "r-0", "s-0"]);
        }
    });

    it("keeps every row when two processes add logs at the same time", async function () {
        const storeDir = path.join(dir, "store");
        const n = 20;
        // Both create the store at the same moment, then write concurrently.
        const writers = [startWriter(storeDir, "a", n), startWriter(storeDir, "b", n)];
        const codes = await Promise.all(writers.map((writer) => writer.exited));
        assert.deepEqual(codes, [0, 0], writers.map((writer) => writer.stderr).join("\n"));

        await using store = await LogStore.open(storeDir);
        const ids = await checkStore(store);
        const expected = ["a", "b"].flatMap((prefix) => Array.from({length: n}, (_, i) => `${prefix}-${i}`));
        assert.deepEqual([...ids].sort(), expected.sort());
        assert.equal(await store.countLogs(), 2 * n);
        assert.equal(await countOrphans(storeDir), 0);
    });

    it("keeps every change when three processes update, delete and compact at the same time", async function () {
        const storeDir = path.join(dir, "store");
        const n = 12;
        const writers = ["a", "b", "c"].map((prefix) => startWriter(storeDir, prefix, n, "churn"));
        const codes = await Promise.all(writers.map((writer) => writer.exited));
        assert.deepEqual(codes, [0, 0, 0], writers.map((writer) => writer.stderr).join("\n"));

        await using store = await LogStore.open(storeDir);
        const ids = await checkStore(store);
        const expected = ["a", "b", "c"].flatMap((prefix) => Array.from({length: n - 5}, (_, i) => `${prefix}-${i + 5}`));
        assert.deepEqual([...ids].sort(), expected.sort());
        for (const log of await store.listLogs()) {
            assert.equal(log.outcome, "accepted", log.id);
            assert.deepEqual(Array.from((await store.getKv(log.id, "fp-two"))?.data ?? []), [1, 2, 3, 4, 5, 6, 7, 8], log.id);
        }
        assert.equal(await countOrphans(storeDir), 0);
    });
});
