import assert from "node:assert/strict";
import fs from "node:fs/promises";
import path from "node:path";
import {readRegularFile} from "../../src/engine/agent/readRegularFile.js";
import {FileHashCache, WorkspaceFileChecker, type FileReader} from "../../src/engine/agent/WorkspaceFiles.js";
import {HindsightError} from "../../src/engine/errors.js";
import {checkLogFiles, freshnessOf} from "../../src/engine/session/staleLogs.js";
import {LogStore, SCHEMA_VERSION} from "../../src/engine/store/index.js";
import {loadLance} from "../../src/engine/store/lance.js";
import {ensureSchema, LOGS_TABLE, readSchemaVersion} from "../../src/engine/store/schema.js";
import {newLog, rawCounts, tempDirPerTest} from "../support/storeFixtures.js";

const sha = (c: string) => c.repeat(64);
type Json = Record<string, unknown>;

/** A log line's log as a version 1 export had it. */
function withoutFiles(log: Json): Json {
    return Object.fromEntries(Object.entries(log).filter(([key]) => key !== "files"));
}

describe("log files: the store keeps each log's file list (store version 2)", function () {
    this.timeout(120_000);
    const dir = tempDirPerTest();

    it("stores and returns a log's files; a log without them has none", async function () {
        const store = await LogStore.open(path.join(dir(), "store"));
        try {
            const files = [{path: "src/a.ts", sha256: sha("a")}, {path: "b.py", sha256: sha("b")}];
            await store.addLog(newLog({id: "with", files}));
            await store.addLog(newLog({id: "without"}));
            assert.deepEqual((await store.getLog("with"))!.files, files);
            assert.deepEqual((await store.getLog("without"))!.files, []);
            assert.deepEqual((await store.listLogs()).map((l) => l.files.length).sort(), [0, 2]);
        } finally {
            store.close();
        }
    });

    it("refuses a file list that names a place outside the workspace, a bad hash, a duplicate or extra fields", async function () {
        const store = await LogStore.open(path.join(dir(), "store"));
        try {
            const bad: [unknown, RegExp][] = [
                [[{path: "../secret", sha256: sha("a")}], /not a plain workspace-relative path: "\.\.\/secret"/],
                [[{path: "/etc/passwd", sha256: sha("a")}], /not a plain workspace-relative path/],
                [[{path: "C:/x", sha256: sha("a")}], /not a plain workspace-relative path/],
                [[{path: "a\\..\\b", sha256: sha("a")}], /not a plain workspace-relative path/],
                [[{path: "a//b", sha256: sha("a")}], /not a plain workspace-relative path/],
                [[{path: "./a", sha256: sha("a")}], /not a plain workspace-relative path/],
                [[{path: "a\u0000b", sha256: sha("a")}], /not a plain workspace-relative path/],
                [[{path: "a.ts", sha256: "A".repeat(64)}], /sha256 of 64 lowercase hex digits/],
                [[{path: "a.ts", sha256: sha("a").slice(1)}], /sha256 of 64 lowercase hex digits/],
                [[{path: "a.ts", sha256: sha("a")}, {path: "a.ts", sha256: sha("b")}], /names the file a\.ts twice/],
                [[{path: "a.ts", sha256: sha("a"), evil: 1}], /exactly the fields "path" and "sha256"/],
                [Array.from({length: 257}, (_, i) => ({path: `f${i}`, sha256: sha("a")})), /at most 256 files/],
                ["a.ts", /must be an array/]
            ];
            for (const [files, why] of bad)
                await assert.rejects(store.addLog(newLog({files: files as never})),
                    (err: HindsightError) => err.code === "INVALID_ARGUMENT" && why.test(err.message), JSON.stringify(files).slice(0, 80));
            assert.equal(await store.countLogs(), 0);
        } finally {
            store.close();
        }
    });

    it("migrates a version 1 store: its logs keep their text and search, have no files, and new logs get files", async function () {
        const storeDir = path.join(dir(), "old");
        await fs.mkdir(storeDir);
        // A store as version 1 made it: its migration alone, then a log row with the version 1 columns.
        const lance = await loadLance();
        const db = await lance.lancedb.connect(storeDir);
        try {
            await ensureSchema(db, lance, storeDir, false, 1);
            assert.equal(await readSchemaVersion(db), 1);
            const logs = await db.openTable(LOGS_TABLE);
            assert.ok(!(await logs.schema()).fields.some((f) => f.name === "files"), "version 1 has no files column");
            await logs.add([{id: "old", createdAt: new Date().toISOString(), workspace: "/w", task: "explain the tokenizer", lastResponse: "It splits words.",
                logText: "It splits words.", outcome: "accepted", pinned: false, nTokens: 4}]);
            logs.close();
        } finally {
            db.close();
        }
        await assert.rejects(LogStore.open(storeDir, {readOnly: true}), /needs upgrading \(version 1 to 2\)/);

        for (let open = 0; open < 2; open++) { // the migration is idempotent: a second open finds it done
            const store = await LogStore.open(storeDir);
            try {
                const old = await store.getLog("old");
                assert.equal(old?.task, "explain the tokenizer");
                assert.equal(old?.outcome, "accepted");
                assert.deepEqual(old?.files, []);
                assert.deepEqual((await store.searchText("splits words", {k: 3})).map((h) => h.id), ["old"]);
                if (open === 0)
                    await store.addLog(newLog({id: "new", files: [{path: "a.ts", sha256: sha("c")}]}));
                assert.deepEqual((await store.getLog("new"))?.files, [{path: "a.ts", sha256: sha("c")}]);
            } finally {
                store.close();
            }
        }
        const db2 = await lance.lancedb.connect(storeDir);
        assert.equal(await readSchemaVersion(db2), SCHEMA_VERSION);
        db2.close();
    });
});

describe("log files: export and import carry them, checked strictly", function () {
    this.timeout(120_000);
    const dir = tempDirPerTest();
    const files = [{path: "src/a.ts", sha256: sha("a")}];

    async function exported(): Promise<string[]> {
        const source = await LogStore.open(path.join(dir(), "source"));
        try {
            await source.addLog(newLog({id: "one", files}));
            await source.addLog(newLog({id: "two"}));
            const file = path.join(dir(), "good.jsonl");
            await source.exportTo(file);
            return (await fs.readFile(file, "utf8")).trimEnd().split("\n");
        } finally {
            source.close();
        }
    }

    it("round-trips the file list (format 2)", async function () {
        const lines = await exported();
        assert.equal((JSON.parse(lines[0]!) as Json).version, 2);
        const target = await LogStore.open(path.join(dir(), "target"));
        try {
            assert.equal((await target.importFrom(path.join(dir(), "good.jsonl"))).added, 2);
            assert.deepEqual((await target.getLog("one"))?.files, files);
            assert.deepEqual((await target.getLog("two"))?.files, []);
        } finally {
            target.close();
        }
    });

    it("refuses a bad file list anywhere, naming the line, and imports nothing", async function () {
        const lines = await exported();
        const logLine = lines.findIndex((l) => (JSON.parse(l) as Json).kind === "log") + 1;
        const target = await LogStore.open(path.join(dir(), "target"));
        try {
            const counts = await rawCounts(target.dir);
            const withFiles = (value: unknown) => lines.map((l, i) => {
                if (i + 1 !== logLine)
                    return l;
                const line = JSON.parse(l) as {log: Json};
                return JSON.stringify({...line, log: {...line.log, files: value}});
            });
            const filesDropped = lines.map((l, i) => {
                if (i + 1 !== logLine)
                    return l;
                const line = JSON.parse(l) as {log: Json};
                return JSON.stringify({...line, log: withoutFiles(line.log)});
            });
            const cases: [string[], RegExp][] = [
                [withFiles([{path: "../../etc/passwd", sha256: sha("a")}]), /not a plain workspace-relative path/],
                [withFiles([{path: "/abs", sha256: sha("a")}]), /not a plain workspace-relative path/],
                [withFiles([{path: "a.ts", sha256: "nothex"}]), /sha256 of 64 lowercase hex digits/],
                [withFiles([{path: "a.ts", sha256: sha("a"), size: 3}]), /file 0 has unknown field "size"/],
                [withFiles([{path: "a.ts"}]), /file 0 lacks "sha256"/],
                [withFiles([{path: 7, sha256: sha("a")}]), /path must be a non-empty string/],
                [withFiles("a.ts"), /files must be an array/],
                [withFiles(null), /files must be an array/],
                [withFiles([{path: "a", sha256: sha("a")}, {path: "a", sha256: sha("a")}]), /names the file a twice/],
                [withFiles(Array.from({length: 300}, (_, i) => ({path: `f${i}`, sha256: sha("a")}))), /300 files; at most 256/],
                [filesDropped, /log line's log lacks "files"/]
            ];
            for (const [edited, why] of cases) {
                const file = path.join(dir(), "crafted.jsonl");
                await fs.writeFile(file, edited.join("\n") + "\n");
                await assert.rejects(target.importFrom(file), (err: HindsightError) => {
                    assert.equal(err.code, "INVALID_ARGUMENT", err.message);
                    assert.match(err.message, new RegExp(`line ${logLine}: `));
                    assert.match(err.message, why);
                    assert.match(err.message, /Nothing was imported\./);
                    return true;
                });
            }
            assert.deepEqual(await rawCounts(target.dir), counts, "nothing was written");

            // A version 1 export (made before logs had files) is still read; its logs have none, and may not claim any.
            const v1 = lines.map((l, i) => {
                const line = JSON.parse(l) as Json & {log?: Json};
                if (i === 0)
                    return JSON.stringify({...line, version: 1});
                if (line.kind !== "log")
                    return l;
                return JSON.stringify({...line, log: withoutFiles(line.log!)});
            });
            const v1File = path.join(dir(), "v1.jsonl");
            await fs.writeFile(v1File, v1.join("\n") + "\n");
            const v1WithFiles = withFiles(files).map((l, i) => i === 0 ? v1[0]! : l);
            await fs.writeFile(path.join(dir(), "v1bad.jsonl"), v1WithFiles.join("\n") + "\n");
            await assert.rejects(target.importFrom(path.join(dir(), "v1bad.jsonl")), /log line's log has unknown field "files"/);
            assert.equal((await target.importFrom(v1File)).added, 2);
            assert.deepEqual((await target.getLog("one"))?.files, []);
        } finally {
            target.close();
        }
    });
});

describe("log files: WorkspaceFileChecker and the hash cache", function () {
    this.timeout(60_000);
    const dir = tempDirPerTest();

    /** A checker over `<dir>/ws` whose reads (the real `readRegularFile`) are counted. */
    function counted(cache = new FileHashCache()) {
        const reads: string[] = [];
        const read: FileReader = (file, max) => {
            reads.push(path.basename(file));
            return readRegularFile(file, max);
        };
        return {checker: new WorkspaceFileChecker(path.join(dir(), "ws"), {cache, read}), reads};
    }

    async function workspace(): Promise<string> {
        const ws = path.join(dir(), "ws");
        await fs.mkdir(path.join(ws, "src"), {recursive: true});
        await fs.writeFile(path.join(ws, "src", "a.ts"), "export const a = 1;\n");
        await fs.writeFile(path.join(ws, ".env"), "TOKEN=x\n");
        await fs.writeFile(path.join(dir(), "outside.txt"), "outside\n");
        await fs.symlink(path.join(dir(), "outside.txt"), path.join(ws, "link-out.txt"));
        await fs.symlink(path.join(ws, ".env"), path.join(ws, "innocent.txt"));
        return ws;
    }

    it("hashes a file's content (sha256), normalises the path, and refuses outside, excluded and linked-out files", async function () {
        const ws = await workspace();
        const {checker} = counted();
        const want = (await import("node:crypto")).createHash("sha256").update("export const a = 1;\n").digest("hex");
        assert.deepEqual(await checker.check("src/a.ts"), {path: "src/a.ts", sha256: want});
        assert.deepEqual(await checker.check("./src/../src/a.ts"), {path: "src/a.ts", sha256: want});
        assert.deepEqual(await checker.check("src/missing.ts"), {path: "src/missing.ts", sha256: null});
        assert.deepEqual(await checker.check("src"), {path: "src", sha256: null}, "a folder is not a file");
        for (const refused of ["../outside.txt", path.join(dir(), "outside.txt"), ".env", "link-out.txt", "innocent.txt", "."])
            assert.equal(await checker.check(refused), null, refused);
        assert.ok(ws);
    });

    it("does not read a file again while its mtime and size are unchanged, and does after an edit", async function () {
        const ws = await workspace();
        const file = path.join(ws, "src", "a.ts");
        const old = new Date(Date.now() - 60_000);
        await fs.utimes(file, old, old);
        const {checker, reads} = counted();
        const first = await checker.check("src/a.ts");
        const second = await checker.check("src/a.ts");
        assert.deepEqual(second, first);
        assert.deepEqual(reads, ["a.ts"], "the second check is a cache hit");

        await fs.writeFile(file, "export const a = 2; // edited\n");
        const edited = await checker.check("src/a.ts");
        assert.notEqual(edited?.sha256, first?.sha256);
        assert.equal(reads.length, 2, "an edited file is read again");
        // Just written: within the racy window it is not cached, so it is read each time until it is older.
        await checker.check("src/a.ts");
        assert.equal(reads.length, 3);
    });

    it("checkLogFiles and freshnessOf tell unchanged, changed, deleted and all gone apart", async function () {
        const ws = await workspace();
        await fs.writeFile(path.join(ws, "b.ts"), "b\n");
        const {checker} = counted();
        const a = (await checker.check("src/a.ts"))!.sha256!;
        const b = (await checker.check("b.ts"))!.sha256!;
        const log = {files: [{path: "src/a.ts", sha256: a}, {path: "b.ts", sha256: b}]};
        assert.deepEqual(freshnessOf("l", await checkLogFiles(log, checker)), {kind: "fresh"});
        await fs.writeFile(path.join(ws, "src", "a.ts"), "changed\n");
        await fs.rm(path.join(ws, "b.ts"));
        assert.deepEqual(await checkLogFiles(log, checker), [{path: "src/a.ts", state: "changed"}, {path: "b.ts", state: "deleted"}]);
        assert.deepEqual(freshnessOf("l", await checkLogFiles(log, checker)), {kind: "stale", stale: {logId: "l", changed: ["src/a.ts"], deleted: ["b.ts"]}});
        await fs.rm(path.join(ws, "src", "a.ts"));
        assert.deepEqual(freshnessOf("l", await checkLogFiles(log, checker)), {kind: "gone"});
        assert.deepEqual(freshnessOf("l", await checkLogFiles({files: []}, checker)), {kind: "fresh"}, "an old log without files is unchanged");
    });
});
