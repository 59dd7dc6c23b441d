import assert from "node:assert/strict";
import fs from "node:fs/promises";
import path from "node:path";
import {HindsightError, StoreError} from "../../src/engine/errors.js";
import {LogStore} from "../../src/engine/store/index.js";
import {loadLance} from "../../src/engine/store/lance.js";
import {SCHEMA_VERSION, writeMeta} from "../../src/engine/store/schema.js";
import {kvBytesFor, makeTempDir, newLog, rawCounts, removeDir, tokensFor} from "../support/storeFixtures.js";

describe("LogStore", function () {
    let dir: string;
    let store: LogStore;

    beforeEach(async function () {
        dir = await makeTempDir();
        store = await LogStore.open(path.join(dir, "store"));
    });

    afterEach(async function () {
        store.close();
        await removeDir(dir);
    });

    describe("logs, KV and embeddings", function () {
        it("round-trips a log with its KV and embedding", async function () {
            const data = kvBytesFor("a", 100_000);
            const added = await store.addLog(newLog({id: "a", nTokens: 5}), {
                kv: [{fingerprint: "model-1/f16", nTokens: 5, tokens: [10, 20, 30, 40, 50], data}],
                embedding: {space: "emb-1", vector: [0.1, 0.2, 0.3]}
            });
            assert.equal(added.id, "a");
            assert.equal(added.outcome, "unknown");
            assert.equal(added.pinned, false);
            assert.ok(!Number.isNaN(Date.parse(added.createdAt)));

            assert.deepEqual(await store.getLog("a"), added);
            const kv = await store.getKv("a", "model-1/f16");
            assert.ok(kv != null);
            assert.deepEqual(kv.tokens, [10, 20, 30, 40, 50]);
            assert.equal(kv.nTokens, 5);
            assert.ok(Buffer.from(kv.data).equals(Buffer.from(data)));
            assert.deepEqual(await store.kvInfo("a"), [{fingerprint: "model-1/f16", bytes: 100_000, nTokens: 5}]);
            assert.equal(await store.getKv("a", "other-model"), null);
            assert.deepEqual(await store.embeddingSpaces(), ["emb-1"]);
            const [hit] = await store.searchVector("emb-1", [0.1, 0.2, 0.3], {k: 1});
            assert.equal(hit?.id, "a");
            assert.ok(Math.abs(hit.score - 1) < 1e-5);
        });

        it("generates ids and refuses a duplicate explicit id", async function () {
            const first = await store.addLog(newLog());
            assert.match(first.id, /^[0-9a-f-]{36}$/);
            await store.addLog(newLog({id: "dup"}));
            await assert.rejects(store.addLog(newLog({id: "dup"})), (err: HindsightError) => err.code === "INVALID_ARGUMENT");
            assert.equal(await store.countLogs(), 2);
        });

        it("lists logs newest first, by workspace, with a limit", async function () {
            for (const [id, workspace] of [["1", "w1"], ["2", "w2"], ["3", "w1"], ["4", "w1"]] as const) {
                await store.addLog(newLog({id, workspace}));
                await new Promise((resolve) => setTimeout(resolve, 3));
            }
            assert.deepEqual((await store.listLogs()).map((log) => log.id), ["4", "3", "2", "1"]);
            assert.deepEqual((await store.listLogs({workspace: "w1"})).map((log) => log.id), ["4", "3", "1"]);
            assert.deepEqual((await store.listLogs({workspace: "w1", limit: 2})).map((log) => log.id), ["4", "3"]);
            assert.deepEqual(await store.listLogs({workspace: "nowhere"}), []);
        });

        it("replaces KV per fingerprint with putKv and keeps other fingerprints", async function () {
            await store.addLog(newLog({id: "a", nTokens: 2}), {kv: [{fingerprint: "f1", nTokens: 2, tokens: [1, 2], data: new Uint8Array([1, 1])}]});
            await store.putKv({logId: "a", fingerprint: "f2", nTokens: 2, tokens: [1, 2], data: new Uint8Array([2, 2, 2])});
            await store.putKv({logId: "a", fingerprint: "f1", nTokens: 2, tokens: [3, 4], data: new Uint8Array([9])});
            const info = (await store.kvInfo("a")).sort((x, y) => x.fingerprint.localeCompare(y.fingerprint));
            assert.deepEqual(info, [{fingerprint: "f1", bytes: 1, nTokens: 2}, {fingerprint: "f2", bytes: 3, nTokens: 2}]);
            assert.deepEqual(Array.from((await store.getKv("a", "f1"))!.data), [9]);
            assert.deepEqual((await store.getKv("a", "f1"))!.tokens, [3, 4]);
            await assert.rejects(store.putKv({logId: "missing", fingerprint: "f1", nTokens: 0, tokens: [], data: new Uint8Array()}),
                (err: StoreError) => err instanceof StoreError && err.code === "LOG_NOT_FOUND");
        });

        it("rejects KV whose tokens do not match nTokens, and embeddings of the wrong dimension", async function () {
            await assert.rejects(store.addLog(newLog(), {kv: [{fingerprint: "f", nTokens: 3, tokens: [1], data: new Uint8Array(1)}]}),
                (err: HindsightError) => err.code === "INVALID_ARGUMENT");
            await store.addLog(newLog({id: "a"}), {embedding: {space: "s", vector: [1, 0, 0]}});
            await assert.rejects(store.putEmbedding("a", {space: "s", vector: [1, 0]}), (err: HindsightError) => err.code === "INVALID_ARGUMENT");
            await assert.rejects(store.searchVector("s", [1, 0], {k: 1}), (err: HindsightError) => err.code === "INVALID_ARGUMENT");
            await assert.rejects(store.putEmbedding("a", {space: "s", vector: [0, 0, 0]}), (err: HindsightError) => err.code === "INVALID_ARGUMENT");
            // Nothing of the refused log was committed.
            assert.equal(await store.countLogs(), 1);
        });

        it("sets outcome and pinned, and refuses unknown logs and outcomes", async function () {
            await store.addLog(newLog({id: "a"}));
            await store.setOutcome("a", "tests-passed");
            await store.setPinned("a", true);
            const log = await store.getLog("a");
            assert.equal(log?.outcome, "tests-passed");
            assert.equal(log?.pinned, true);
            await assert.rejects(store.setOutcome("nope", "accepted"), (err: StoreError) => err.code === "LOG_NOT_FOUND");
            await assert.rejects(store.setOutcome("a", "great" as never), (err: HindsightError) => err.code === "INVALID_ARGUMENT");
        });

        it("deletes a log with its KV and embeddings", async function () {
            const kv = [{fingerprint: "f", nTokens: 1, tokens: [7], data: new Uint8Array([1, 2, 3])}];
            await store.addLog(newLog({id: "a", nTokens: 1}), {kv, embedding: {space: "s", vector: [1, 0]}});
            await store.addLog(newLog({id: "b", nTokens: 1}), {kv, embedding: {space: "s", vector: [0.9, 0.1]}});
            assert.equal(await store.deleteLog("a"), true);
            assert.equal(await store.deleteLog("a"), false);
            assert.equal(await store.getLog("a"), null);
            assert.equal(await store.getKv("a", "f"), null);
            assert.deepEqual(await store.kvInfo("a"), []);
            assert.deepEqual((await store.searchVector("s", [1, 0], {k: 5})).map((hit) => hit.id), ["b"]);
            assert.deepEqual((await store.searchText("parser", {k: 5})).map((hit) => hit.id), ["b"]);
            // The rows are gone, not only hidden.
            const raw = await rawCounts(store.dir);
            assert.equal(raw.kv, 1);
            assert.equal(raw.vectors, 1);
        });

        it("refuses writes when opened read-only and still reads", async function () {
            await store.addLog(newLog({id: "a"}));
            const reader = await LogStore.open(store.dir, {readOnly: true});
            try {
                assert.equal((await reader.getLog("a"))?.id, "a");
                await assert.rejects(reader.addLog(newLog()), (err: StoreError) => err.code === "STORE_UNAVAILABLE");
                // A reader sees what another handle commits later.
                await store.addLog(newLog({id: "b"}));
                assert.equal((await reader.getLog("b"))?.id, "b");
            } finally {
                reader.close();
            }
        });
    });

    describe("search", function () {
        it("ranks the nearest vector first and filters by workspace and outcome", async function () {
            const vectors: Record<string, number[]> = {far: [0, 1, 0], near: [1, 0.05, 0], middle: [1, 1, 0], other: [1, 0, 0.01]};
            for (const [id, vector] of Object.entries(vectors))
                await store.addLog(newLog({id, workspace: id === "other" ? "w2" : "w1"}), {embedding: {space: "e", vector}});
            const query = new Float32Array([1, 0, 0]);
            assert.deepEqual((await store.searchVector("e", query, {k: 4})).map((hit) => hit.id), ["other", "near", "middle", "far"]);
            const hits = await store.searchVector("e", query, {k: 2, workspace: "w1"});
            assert.deepEqual(hits.map((hit) => hit.id), ["near", "middle"]);
            assert.ok(hits[0]!.score > hits[1]!.score);
            assert.ok(Math.abs(hits[1]!.score - Math.SQRT1_2) < 1e-4);

            await store.setOutcome("near", "rejected");
            await store.setOutcome("middle", "tests-failed");
            assert.deepEqual((await store.searchVector("e", query, {k: 2, workspace: "w1", excludeOutcomes: ["rejected", "tests-failed"]}))
                .map((hit) => hit.id), ["far"]);
            assert.deepEqual(await store.searchVector("unknown-space", query, {k: 2}), []);
        });

        it("finds k hits past many filtered-out neighbours", async function () {
            for (let i = 0; i < 40; i++)
                await store.addLog(newLog({id: `r${i}`, workspace: i < 38 ? "noise" : "wanted"}), {embedding: {space: "e", vector: [1, i / 100]}});
            const hits = await store.searchVector("e", [1, 0], {k: 5, workspace: "wanted"});
            assert.deepEqual(hits.map((hit) => hit.id), ["r38", "r39"]);
        });

        it("finds text in rows added after the full-text index was built", async function () {
            await store.addLog(newLog({id: "old", task: "Rename the config loader", lastResponse: "Renamed it."}));
            await store.optimize();
            await store.addLog(newLog({id: "new", task: "Add a zebra crossing widget", lastResponse: "Added the giraffe panel."}));
            assert.deepEqual((await store.searchText("zebra", {k: 5})).map((hit) => hit.id), ["new"]);
            assert.deepEqual((await store.searchText("giraffe", {k: 5})).map((hit) => hit.id), ["new"]);
            assert.deepEqual((await store.searchText("loader", {k: 5})).map((hit) => hit.id), ["old"]);
            // And after the outcome of the new row changed (an update rewrites the row).
            await store.setOutcome("new", "accepted");
            assert.deepEqual((await store.searchText("zebra", {k: 5})).map((hit) => hit.id), ["new"]);
            assert.deepEqual(await store.searchText("zebra", {k: 5, excludeOutcomes: ["accepted"]}), []);
        });

        it("survives queries with quotes, brackets and operators", async function () {
            await store.addLog(newLog({id: "a", task: "foo handling", lastResponse: "bar it's \"done\""}));
            const queries = [`foo "bar' OR (x`, `"`, `'`, `(`, `)`, `AND`, `OR NOT`, `*`, `foo*`, `title:foo`, `+foo -bar`, `foo~2`, `[a TO b]`,
                `\\`, `'; DROP TABLE logs; --`, `🦓 ünïcödé`, "a".repeat(5000), "   ", ""];
            for (const query of queries) {
                const hits = await store.searchText(query, {k: 3});
                assert.ok(Array.isArray(hits), query);
            }
            assert.deepEqual((await store.searchText(`foo "bar' OR (x`, {k: 3})).map((hit) => hit.id), ["a"]);
            assert.equal(await store.countLogs(), 1);
        });

        it("filters text search by workspace", async function () {
            await store.addLog(newLog({id: "a", workspace: "it's mine", task: "parser work"}));
            await store.addLog(newLog({id: "b", workspace: "other", task: "parser work"}));
            assert.deepEqual((await store.searchText("parser", {k: 5, workspace: "it's mine"})).map((hit) => hit.id), ["a"]);
        });
    });

    describe("values that look like SQL", function () {
        it("stores and finds ids, workspaces and fingerprints with quotes and backslashes", async function () {
            const id = `it's a "log" \\ with ' quotes --`;
            const workspace = `C:\\Users\\o'brien\\proj' OR '1'='1`;
            const fingerprint = `model's "q8_0"`;
            await store.addLog(newLog({id, workspace, nTokens: 1}), {
                kv: [{fingerprint, nTokens: 1, tokens: [1], data: new Uint8Array([4])}],
                embedding: {space: `space 'x'`, vector: [1, 2]}
            });
            await store.addLog(newLog({id: "plain", workspace: "elsewhere"}));
            assert.equal((await store.getLog(id))?.workspace, workspace);
            assert.deepEqual((await store.listLogs({workspace})).map((log) => log.id), [id]);
            assert.deepEqual(Array.from((await store.getKv(id, fingerprint))!.data), [4]);
            assert.deepEqual((await store.searchVector(`space 'x'`, [1, 2], {k: 5})).map((hit) => hit.id), [id]);
            // An injected predicate would match every row.
            assert.deepEqual(await store.listLogs({workspace: `x' OR '1'='1`}), []);
            assert.equal(await store.getLog(`' OR ''='`), null);
            assert.equal(await store.deleteLog(id), true);
            assert.equal(await store.countLogs(), 1);
        });
    });

    describe("export and import", function () {
        it("copies logs, KV and embeddings into a fresh store, skipping ids already there", async function () {
            for (let i = 0; i < 5; i++) {
                const id = `log-${i}`;
                await store.addLog(newLog({id, task: `task ${i}`, workspace: `w${i % 2}`, outcome: i === 3 ? "rejected" : undefined, nTokens: 8}), {
                    kv: [
                        {fingerprint: "fa", nTokens: 8, tokens: tokensFor(id, 8), data: kvBytesFor(id, 50_000 + i)},
                        ...(i === 0 ? [{fingerprint: "fb", nTokens: 8, tokens: tokensFor(id, 8), data: new Uint8Array(0)}] : [])
                    ],
                    embedding: {space: "e1", vector: [i + 0.1, 1 / 3, -2.5e-7]}
                });
            }
            await store.putEmbedding("log-2", {space: "e2", vector: [1, 2, 3, 4, 5]});
            await store.setPinned("log-4", true);
            const file = path.join(dir, "export.jsonl");
            assert.equal(await store.exportTo(file), 5);
            assert.deepEqual((await fs.readdir(dir)).sort(), ["export.jsonl", "store"]);

            const copy = await LogStore.open(path.join(dir, "copy"));
            try {
                await copy.addLog(newLog({id: "log-1", task: "already here"}));
                const trusted = {keepKv: {acceptRisk: true}} as const;
                assert.deepEqual(await copy.importFrom(file, trusted), {added: 4, skipped: 1, kvKept: 5, kvDropped: 0});
                assert.equal((await copy.getLog("log-1"))?.task, "already here");
                assert.deepEqual(await copy.importFrom(file, trusted), {added: 0, skipped: 5, kvKept: 0, kvDropped: 0});

                const original = (await store.listLogs()).filter((log) => log.id !== "log-1");
                assert.deepEqual((await copy.listLogs()).filter((log) => log.id !== "log-1"), original);
                for (const log of original)
                    for (const {fingerprint} of await store.kvInfo(log.id)) {
                        const a = (await store.getKv(log.id, fingerprint))!;
                        const b = (await copy.getKv(log.id, fingerprint))!;
                        assert.deepEqual({...b, createdAt: a.createdAt}, a);
                    }
                assert.deepEqual((await copy.embeddingSpaces()).sort(), ["e1", "e2"]);
                for (const space of ["e1", "e2"]) {
                    const query = space === "e1" ? [2.1, 1 / 3, -2.5e-7] : [1, 2, 3, 4, 5];
                    assert.deepEqual(await copy.searchVector(space, query, {k: 10, excludeOutcomes: ["unknown"]}),
                        (await store.searchVector(space, query, {k: 10, excludeOutcomes: ["unknown"]})).filter((hit) => hit.id !== "log-1"));
                }
                const [e1] = await copy.searchVector("e1", [2.1, 1 / 3, -2.5e-7], {k: 1});
                assert.equal(e1?.id, "log-2");
                assert.ok(Math.abs(e1.score - 1) < 1e-6);
            } finally {
                copy.close();
            }
        });

        it("refuses a file that is not an export", async function () {
            const file = path.join(dir, "notes.txt");
            await fs.writeFile(file, "hello\n");
            await assert.rejects(store.importFrom(file), (err: HindsightError) => err.code === "INVALID_ARGUMENT");
            assert.equal(await store.countLogs(), 0);
        });
    });

    describe("opening", function () {
        it("refuses a store made by a newer Hindsight", async function () {
            store.close();
            const {lancedb} = await loadLance();
            const db = await lancedb.connect(store.dir);
            await writeMeta(db, "schemaVersion", String(SCHEMA_VERSION + 1));
            db.close();
            for (const readOnly of [false, true])
                await assert.rejects(LogStore.open(store.dir, {readOnly}),
                    (err: StoreError) => err instanceof StoreError && err.code === "STORE_UNAVAILABLE" && /made by a newer Hindsight/.test(err.message));
        });

        it("refuses a regular file, a foreign folder and a missing read-only store", async function () {
            const file = path.join(dir, "file.txt");
            await fs.writeFile(file, "not a store");
            const foreign = path.join(dir, "foreign");
            await fs.mkdir(foreign);
            await fs.writeFile(path.join(foreign, "README.md"), "my files");
            for (const [target, options] of [[file, {}], [file, {readOnly: true}], [foreign, {}], [path.join(dir, "missing"), {readOnly: true}]] as const)
                await assert.rejects(LogStore.open(target, options),
                    (err: StoreError) => err instanceof StoreError && err.code === "STORE_UNAVAILABLE" && err.message.includes(target), target);
            // The foreign folder was left alone.
            assert.deepEqual(await fs.readdir(foreign), ["README.md"]);
        });

        it("creates missing parent folders and reopens an existing store", async function () {
            const nested = path.join(dir, "a", "b", "store");
            const created = await LogStore.open(nested);
            await created.addLog(newLog({id: "x"}));
            created.close();
            await using reopened = await LogStore.open(nested);
            assert.equal((await reopened.getLog("x"))?.id, "x");
        });

        it("hides KV and embedding rows without a log, and collects the old ones on open", async function () {
            await store.addLog(newLog({id: "kept", nTokens: 1}), {
                kv: [{fingerprint: "f", nTokens: 1, tokens: [1], data: new Uint8Array([1])}],
                embedding: {space: "s", vector: [1, 0]}
            });
            store.close();
            // Rows as a writer killed before its commit point leaves them: one an hour ago, one just now.
            const {lancedb} = await loadLance();
            const db = await lancedb.connect(store.dir);
            const vectorTable = (await db.tableNames()).find((name) => name.startsWith("vectors_"))!;
            for (const [logId, createdAt] of [["old-orphan", new Date(Date.now() - 3600_000)], ["new-orphan", new Date()]] as const) {
                await (await db.openTable("kv")).add([{logId, fingerprint: "f", nTokens: 1, tokens: [1], data: new Uint8Array([2]), bytes: 1n,
                    createdAt: createdAt.toISOString()}]);
                await (await db.openTable(vectorTable)).add([{logId, space: "s", vector: [1, 0.01], createdAt: createdAt.toISOString()}]);
            }
            db.close();

            store = await LogStore.open(store.dir);
            assert.deepEqual(await rawCounts(store.dir), {logs: 1, kv: 2, vectors: 2}, "the old orphan is gone, the recent one kept");
            assert.equal(await store.getKv("new-orphan", "f"), null);
            assert.deepEqual(await store.kvInfo("new-orphan"), []);
            assert.deepEqual((await store.searchVector("s", [1, 0.01], {k: 5})).map((hit) => hit.id), ["kept"]);
            assert.deepEqual((await store.listLogs()).map((log) => log.id), ["kept"]);
            assert.equal(await store.collectOrphans(0), 2);
            assert.deepEqual(await rawCounts(store.dir), {logs: 1, kv: 1, vectors: 1});
        });

        it("fails cleanly after close", async function () {
            store.close();
            await assert.rejects(store.getLog("a"), (err: StoreError) => err.code === "STORE_UNAVAILABLE");
        });
    });
});

