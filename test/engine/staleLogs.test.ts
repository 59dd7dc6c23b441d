import assert from "node:assert/strict";
import {createHash} from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import {readRegularFile} from "../../src/engine/agent/readRegularFile.js";
import {DirectoryToolHost, type ToolHost} from "../../src/engine/agent/ToolHost.js";
import {FileHashCache, WorkspaceFileChecker, type FileReader} from "../../src/engine/agent/WorkspaceFiles.js";
import type {AskEvent, AskOptions} from "../../src/engine/HindsightEngine.js";
import {engineFixture, loadTinyExactModel} from "../support/engineFixture.js";

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/**
 * Stale-log awareness end to end, on the tiny random-weight model (its words are noise, so a session's file read is
 * forced with `answerPrefix`, and its other files are attached): the real engine, store, retrieval, tool host and
 * file checker, on real files.
 */
describe("stale logs: logs remember the files they read, and a reused log whose files changed ranks last", function () {
    this.timeout(300_000);
    const workspace = "ws-stale";
    const f = engineFixture("hs-stale-", () => loadTinyExactModel({contextSize: 1024, threads: 1}));
    let ws: string;
    let tools: DirectoryToolHost;

    const quiet = {workspace, mode: "kv", maxTokensPerRound: 6} as const;

    /** A logged session that reads `read` with the read tool (its first round) and is given `attached`. */
    async function session(task: string, read: string, attached: string[] = [], host: ToolHost = tools): Promise<string> {
        const result = await f.engine.ask(task, {...quiet, tools: host, maxRounds: 2, answerPrefix: `ACTION: read_file ${read}\n`, attachedFiles: attached});
        assert.ok(result.logId != null);
        return result.logId;
    }

    /** An unlogged request, with the retrieval events it reported. */
    async function ask(request: string, options: Partial<AskOptions> = {}) {
        const events: AskEvent[] = [];
        const result = await f.engine.ask(request, {...quiet, tools, maxRounds: 1, log: false, k: 3, onEvent: (e) => events.push(e), ...options});
        return {...result, retrieved: events.filter((e) => e.type === "retrieved")};
    }

    before(async function () {
        ws = path.join(f.dir, "ws");
        await fs.mkdir(ws);
        for (const name of ["a.ts", "b.ts", "c.ts", "d.ts"])
            await fs.writeFile(path.join(ws, name), `export const ${name[0]} = 1;\n`);
        tools = new DirectoryToolHost(ws);
    });

    it("records the file a session read (and the ones it was given) with their hashes", async function () {
        const id = await session("tokenize csv rows quickly", "c.ts", ["d.ts", "missing.ts", ".env"]);
        const log = await f.store.getLog(id);
        assert.deepEqual(log?.files, [
            {path: "d.ts", sha256: sha256("export const d = 1;\n")},
            {path: "c.ts", sha256: sha256("export const c = 1;\n")}
        ], "attached first, then the read; a missing or excluded file is not recorded");
    });

    it("unchanged files: the log is reused as before and not stale; edited: it is reused, marked stale with the file, after an unchanged one", async function () {
        const a = await session("why does parse_line fail on blank lines in the parser", "a.ts");
        const b = await session("parse_line docs", "b.ts");
        const query = "parse_line blank lines parser";

        const before = await ask(query);
        assert.deepEqual(before.usedLogs.slice(0, 2), [a, b], "by relevance, the session that read a.ts comes first");
        assert.deepEqual(before.staleLogs, []);
        assert.deepEqual(before.retrieved[0]?.type === "retrieved" && before.retrieved[0].stale, []);

        await fs.writeFile(path.join(ws, "a.ts"), "export const a = 2; // edited since\n");
        const after = await ask(query);
        assert.ok(after.usedLogs.includes(a), "a stale log is still reused");
        assert.ok(after.usedLogs.indexOf(b) < after.usedLogs.indexOf(a), `the unchanged log ranks first: ${after.usedLogs.join(", ")}`);
        assert.deepEqual(after.staleLogs, [{logId: a, changed: ["a.ts"], deleted: []}]);
        const event = after.retrieved[0];
        assert.ok(event?.type === "retrieved");
        assert.deepEqual(event.stale, [{logId: a, changed: ["a.ts"], deleted: []}]);
        assert.equal(event.logIds.at(-1), a, "the event lists it last");

        // An unchecked request (no file checker) cannot tell: the order is relevance again.
        const unchecked = await ask(query, {tools: null});
        assert.deepEqual(unchecked.usedLogs.slice(0, 2), [a, b]);
        assert.deepEqual(unchecked.staleLogs, []);
    });

    it("some files gone: stale, listed as deleted; all gone: the log is not reused at all", async function () {
        const c = (await f.store.listLogs()).find((l) => l.task === "tokenize csv rows quickly")!.id;
        const query = "tokenize csv rows";
        assert.ok((await ask(query)).usedLogs.includes(c), "found while its files are there");

        await fs.rm(path.join(ws, "d.ts"));
        const one = await ask(query);
        assert.ok(one.usedLogs.includes(c));
        assert.deepEqual(one.staleLogs.find((s) => s.logId === c), {logId: c, changed: [], deleted: ["d.ts"]});

        await fs.rm(path.join(ws, "c.ts"));
        const none = await ask(query);
        assert.ok(!none.usedLogs.includes(c), `a log whose files are all gone is not reused: ${none.usedLogs.join(", ")}`);
        assert.ok(none.staleLogs.every((s) => s.logId !== c));
    });

    it("checks through the hash cache: an unchanged file is not read again, an edited one is", async function () {
        const file = path.join(ws, "e.ts");
        const old = new Date(Date.now() - 60_000);
        await fs.writeFile(file, "export const e = 1;\n");
        await fs.utimes(file, old, old);
        const reads: string[] = [];
        const read: FileReader = (target, max) => {
            reads.push(path.basename(target));
            return readRegularFile(target, max);
        };
        const inner = new DirectoryToolHost(ws);
        const counted: ToolHost = {
            listFiles: (dir) => inner.listFiles(dir), readFile: (name) => inner.readFile(name), search: (q) => inner.search(q),
            files: new WorkspaceFileChecker(ws, {cache: new FileHashCache(), read})
        };
        const e = await session("render the emoji table", "e.ts", [], counted);
        assert.deepEqual(reads, ["e.ts"], "hashed once when the session read it");

        const same = await ask("render emoji table", {tools: counted});
        assert.ok(same.usedLogs.includes(e));
        assert.deepEqual(same.staleLogs, []);
        assert.deepEqual(reads, ["e.ts"], "checking the reused log was a cache hit: no read");

        await fs.writeFile(file, "export const e = 22;\n");
        await fs.utimes(file, old, new Date(old.getTime() + 1000));
        const edited = await ask("render emoji table", {tools: counted});
        assert.deepEqual(edited.staleLogs, [{logId: e, changed: ["e.ts"], deleted: []}]);
        assert.deepEqual(reads, ["e.ts", "e.ts"], "a new mtime and size: read again");
        await ask("render emoji table", {tools: counted});
        assert.equal(reads.length, 2, "and cached again");
    });
});
