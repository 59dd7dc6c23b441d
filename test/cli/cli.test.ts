import assert from "node:assert/strict";
import {spawnSync} from "node:child_process";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import {fileURLToPath} from "node:url";
import {LogStore} from "../../src/engine/store/index.js";
import {realTestModel} from "../support/realModel.js";
import {kvBytesFor, newLog, tokensFor} from "../support/storeFixtures.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const bin = path.join(root, "bin", "hindsight.js");

function run(args: string[], env: Record<string, string> = {}, input?: string) {
    const result = spawnSync(process.execPath, [bin, ...args], {
        cwd: root,
        input,
        encoding: "utf8",
        env: {...process.env, HINDSIGHT_MODEL: "", HINDSIGHT_STORE: "", ...env},
        timeout: 300_000
    });
    return {code: result.status, stdout: result.stdout, stderr: result.stderr};
}

function jsonError(stdout: string): {code: string, message: string} {
    const doc = JSON.parse(stdout) as {error: {code: string, message: string}};
    return doc.error;
}

describe("CLI contract", function () {
    let dir: string;

    before(async function () {
        dir = await fs.mkdtemp(path.join(os.tmpdir(), "hindsight-cli-"));
    });

    after(async function () {
        await fs.rm(dir, {recursive: true, force: true});
    });

    it("an empty request: exit 1, one sentence, JSON error", function () {
        const r = run(["ask", "", "--json", "--store", path.join(dir, "s1")]);
        assert.equal(r.code, 1);
        assert.equal(jsonError(r.stdout).code, "INVALID_ARGUMENT");
        assert.equal(r.stderr.trim().split("\n").length, 1, "one line on stderr");
        assert.doesNotMatch(r.stderr, /\bat .*\.js:\d+/, "no stack trace");
    });

    it("a missing model names the next step", function () {
        const r = run(["ask", "hello", "--json", "--store", path.join(dir, "s2"), "--model", path.join(dir, "nope.gguf")]);
        assert.equal(r.code, 1);
        const err = jsonError(r.stdout);
        assert.equal(err.code, "MODEL_NOT_FOUND");
        assert.match(err.message, /model pull|--model/);
        const none = run(["ask", "hello", "--json", "--store", path.join(dir, "s2")]);
        assert.equal(jsonError(none.stdout).code, "MODEL_NOT_FOUND");
    });

    it("a file that is not a model is refused", async function () {
        const fake = path.join(dir, "fake.gguf");
        await fs.writeFile(fake, "not a model at all");
        const r = run(["ask", "hello", "--json", "--store", path.join(dir, "s3"), "--model", fake]);
        assert.equal(jsonError(r.stdout).code, "MODEL_INVALID");
    });

    it("an unreadable store is refused", async function () {
        const file = path.join(dir, "a-file");
        await fs.writeFile(file, "x");
        const r = run(["logs", "list", "--json", "--store", file]);
        assert.equal(r.code, 1);
        assert.equal(jsonError(r.stdout).code, "STORE_UNAVAILABLE");
    });

    it("unknown commands and bad options are user errors", function () {
        assert.equal(jsonError(run(["frobnicate", "--json"]).stdout).code, "INVALID_ARGUMENT");
        assert.equal(jsonError(run(["ask", "x", "--mode", "magic", "--json"]).stdout).code, "INVALID_ARGUMENT");
        assert.equal(jsonError(run(["ask", "x", "--k", "-2", "--json"]).stdout).code, "INVALID_ARGUMENT");
        for (const subset of ["20", "0:1", "20:0", "a:b"])
            assert.match(jsonError(run(["eval", "--subset", subset, "--json"]).stdout).message, /--subset takes N:SEED/);
    });

    it("prints log text with its terminal controls shown, not obeyed (ANSI, OSC 52, C1, bidi overrides)", async function () {
        const store = path.join(dir, "escapes");
        const hostile = "Fix \x1b[2J\x1b]52;c;ZWNobyBwd25lZA==\x07 the \x9b31m parser \u202egnp.exe\u202c\r done";
        await using logs = await LogStore.open(store);
        await logs.addLog(newLog({id: "esc\x1b[31m", task: hostile, logText: `reasoning ${hostile}`}));
        const raw = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/;
        for (const args of [["logs", "list"], ["logs", "show", "esc\x1b[31m"], ["logs", "show", "missing\x1b]52;c;eA==\x07"]]) {
            const r = run([...args, "--store", store]);
            assert.doesNotMatch(r.stdout + r.stderr, raw, `${args.join(" ")} printed a control character`);
            assert.match(r.stdout + r.stderr, /\\x1b/, "the escape is shown");
            const j = run([...args, "--json", "--store", store]);
            assert.doesNotMatch(j.stdout + j.stderr, raw, `${args.join(" ")} --json printed a control character`);
        }
        assert.match(run(["logs", "show", "esc\x1b[31m", "--store", store]).stdout, /Fix \\x1b\[2J\\x1b\]52;c;ZWNobyBwd25lZA==\\x07 the \\x9b31m parser \\u202egnp\.exe\\u202c\\x0d done/);
        const shown = JSON.parse(run(["logs", "show", "esc\x1b[31m", "--json", "--store", store]).stdout) as {task: string};
        assert.equal(shown.task, hostile, "JSON keeps the value exactly");
    });

    it("logs import drops the file's KV unless --trust-kv, and says which", async function () {
        const source = path.join(dir, "kv-source");
        const file = path.join(dir, "kv.jsonl");
        {
            await using logs = await LogStore.open(source);
            await logs.addLog(newLog({id: "with-kv", nTokens: 4}), {kv: [{fingerprint: "fp", nTokens: 4, tokens: tokensFor("k", 4), data: kvBytesFor("k", 64)}]});
            assert.equal(await logs.exportTo(file), 1);
        }
        const dropped = run(["logs", "import", file, "--store", path.join(dir, "kv-dropped")]);
        assert.equal(dropped.code, 0, dropped.stderr);
        assert.match(dropped.stdout, /Imported 1 log\(s\).*Dropped the file's 1 KV cache\(s\).*--trust-kv/s);
        const droppedJson = JSON.parse(run(["logs", "import", file, "--json", "--store", path.join(dir, "kv-dropped-2")]).stdout) as Record<string, unknown>;
        assert.deepEqual(droppedJson, {file, count: 1, added: 1, skipped: 0, kvKept: 0, kvDropped: 1, kv: "dropped"});
        const list = JSON.parse(run(["logs", "list", "--json", "--store", path.join(dir, "kv-dropped")]).stdout) as {kvBytes: number}[];
        assert.equal(list[0]?.kvBytes, 0);

        const kept = run(["logs", "import", file, "--trust-kv", "--store", path.join(dir, "kv-kept")]);
        assert.equal(kept.code, 0, kept.stderr);
        assert.match(kept.stdout, /Kept the file's 1 KV cache\(s\) as they are \(--trust-kv\)/);
        const keptList = JSON.parse(run(["logs", "list", "--json", "--store", path.join(dir, "kv-kept")]).stdout) as {kvBytes: number}[];
        assert.equal(keptList[0]?.kvBytes, 64);
    });

    it("an unknown option is named with the command's options, never ignored or taken for another", function () {
        const misspelt = run(["ask", "x", "--max-round", "3", "--json"]);
        assert.equal(misspelt.code, 1);
        const err = jsonError(misspelt.stdout);
        assert.equal(err.code, "INVALID_ARGUMENT");
        assert.match(err.message, /Unknown option --max-round for `hindsight ask`/);
        assert.match(err.message, /--max-rounds VALUE/);
        const bogus = run(["logs", "list", "--bogus"]);
        assert.equal(bogus.code, 1);
        assert.match(bogus.stderr, /Unknown option --bogus for `hindsight logs`/);
        // an option of another command is unknown here too
        assert.match(jsonError(run(["model", "pull", "--mode", "kv", "--json"]).stdout).message, /Unknown option --mode for `hindsight model`/);
        // a value-taking option at the end, and a flag given a value
        assert.match(jsonError(run(["ask", "x", "--json", "--k"]).stdout).message, /--k needs a value/);
        assert.match(jsonError(run(["ask", "x", "--json", "--no-log=yes"]).stdout).message, /--no-log takes no value/);
        const unknownCommand = run(["frobnicate"]);
        assert.notEqual(unknownCommand.code, 0);
        assert.match(unknownCommand.stderr, /Unknown command "frobnicate"/);
    });

    it("chat: two lines piped in give two answers, the second a follow-up; exit 0 @model", async function () {
        const model = await realTestModel();
        const store = path.join(dir, "chat");
        const ws = path.join(dir, "chat-ws");
        await fs.mkdir(ws, {recursive: true});
        const first = "Write a Python function add(a, b).";
        const r = run(["chat", "--workspace", ws, "--mode", "none", "--max-rounds", "1", "--max-tokens", "24", "--threads", "1",
            "--json", "--store", store, "--model", model], {}, `${first}\nNow rename it to plus.\n`);
        assert.equal(r.code, 0, r.stderr);
        const {turns} = JSON.parse(r.stdout) as {turns: {request: string, answer: string, logId: string}[]};
        assert.deepEqual(turns.map((t) => t.request), [first, "Now rename it to plus."]);
        assert.ok(turns.every((t) => typeof t.answer === "string" && typeof t.logId === "string"));
        const shown = JSON.parse(run(["logs", "show", turns[1]!.logId, "--json", "--store", store]).stdout) as {task: string};
        assert.equal(shown.task, `(after "${first}") Now rename it to plus.`);

        const plain = run(["chat", "--workspace", ws, "--mode", "none", "--max-rounds", "1", "--max-tokens", "8", "--threads", "1",
            "--no-log", "--store", store, "--model", model], {}, "Say hi.\n/new\nSay bye.\n/exit\nnever asked\n");
        assert.equal(plain.code, 0, plain.stderr);
        assert.match(plain.stderr, /\[new conversation\]/);
        assert.match(plain.stdout, /\(2 turn\(s\)\)/);
    });

    it("ask, logs list/show/mark/export/import/rm round trip with the real model @model", async function () {
        const model = await realTestModel();
        const store = path.join(dir, "real");
        const ws = path.join(dir, "ws");
        await fs.mkdir(ws, {recursive: true});
        await fs.writeFile(path.join(ws, "math.py"), "def add(a, b):\n    return a + b\n");
        const asked = run(["ask", "What does add in math.py do?", "--workspace", ws, "--mode", "kv", "--k", "3", "--max-rounds", "2",
            "--max-tokens", "64", "--json", "--store", store, "--model", model]);
        assert.equal(asked.code, 0, asked.stderr);
        const answer = JSON.parse(asked.stdout) as {answer: string, rounds: number, usedLogs: string[], logId: string,
            timings: Record<string, number | null>};
        assert.equal(typeof answer.answer, "string");
        assert.ok(answer.rounds >= 1 && answer.rounds <= 2);
        assert.deepEqual(answer.usedLogs, []);
        assert.ok(typeof answer.logId === "string");
        for (const key of ["retrieveMs", "kvLoadMs", "ttftMs", "totalMs", "tokensPerSec"])
            assert.ok(key in answer.timings, key);

        // A second, related request searches the store (full text and vectors): nothing but the JSON document is
        // printed, in particular no LanceDB deprecation warning about `_score` / `_distance` on stderr.
        const again = run(["ask", "What does add in math.py return?", "--workspace", ws, "--max-rounds", "1", "--max-tokens", "16",
            "--no-log", "--json", "--store", store, "--model", model]);
        assert.equal(again.code, 0, again.stderr);
        assert.deepEqual((JSON.parse(again.stdout) as {usedLogs: string[]}).usedLogs, [answer.logId]);
        assert.equal(again.stderr, "");

        const list = JSON.parse(run(["logs", "list", "--json", "--store", store]).stdout) as Array<Record<string, unknown>>;
        assert.equal(list.length, 1);
        assert.deepEqual(Object.keys(list[0]!).sort(), ["createdAt", "fingerprint", "id", "kvBytes", "nTokens", "outcome", "task"]);
        assert.equal(list[0]!.id, answer.logId);
        assert.ok((list[0]!.kvBytes as number) > 0);

        const shown = JSON.parse(run(["logs", "show", answer.logId, "--json", "--store", store]).stdout) as {task: string};
        assert.equal(shown.task, "What does add in math.py do?");
        assert.equal(run(["logs", "mark", answer.logId, "--outcome", "accepted", "--json", "--store", store]).code, 0);
        assert.equal((JSON.parse(run(["logs", "list", "--json", "--store", store]).stdout) as Array<{outcome: string}>)[0]!.outcome, "accepted");

        const exported = path.join(dir, "logs.jsonl");
        assert.equal(run(["logs", "export", exported, "--json", "--store", store]).code, 0);
        const other = path.join(dir, "other");
        const imported = JSON.parse(run(["logs", "import", exported, "--json", "--store", other]).stdout) as {count: number};
        assert.equal(imported.count, 1);

        assert.equal(run(["logs", "rm", answer.logId, "--json", "--store", store]).code, 0);
        assert.deepEqual(JSON.parse(run(["logs", "list", "--json", "--store", store]).stdout), []);
        assert.equal(jsonError(run(["logs", "show", answer.logId, "--json", "--store", store]).stdout).code, "LOG_NOT_FOUND");
    });
});
