import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import {HindsightEngine} from "../../src/engine/HindsightEngine.js";
import {Retriever} from "../../src/engine/retrieval/Retriever.js";
import {ModelRuntime} from "../../src/engine/runtime/ModelRuntime.js";
import {LogStore} from "../../src/engine/store/index.js";
import {Journal} from "../../src/eval/Journal.js";
import {hitTokenCap, journalsResponses, rebuildStore, runEval} from "../../src/eval/runEval.js";
import {loadSuite, shippedDataDir} from "../../src/eval/suites.js";
import {realTestModel} from "../support/realModel.js";

describe("eval journal responses", function () {
    it("keeps phase 1 responses always and phase 2 responses only when they hold more than the answer", function () {
        assert.equal(journalsResponses("log", {answer: "a", responses: ["a"]}), true);
        assert.equal(journalsResponses("eval", {answer: "a", responses: ["a"]}), false);
        assert.equal(journalsResponses("eval", {answer: "code", responses: ["code\nANSWER:"]}), true);
        assert.equal(journalsResponses("eval", {answer: "b", responses: ["a", "b"]}), true);
        assert.equal(journalsResponses("score", {answer: "", responses: []}), false);
    });
});

describe("eval truncation counting", function () {
    const tokens = (text: string) => text.split(" ").length;
    it("one generation: exact, from the generated count; several rounds or reflection: the last response re-tokenized", function () {
        assert.equal(hitTokenCap({rounds: 1, responses: ["a b"], tokens: {prompt: 1, generated: 64}}, "kv", 64, tokens), true);
        assert.equal(hitTokenCap({rounds: 1, responses: ["a b"], tokens: {prompt: 1, generated: 63}}, "kv", 64, tokens), false);
        const long = Array.from({length: 63}, () => "w").join(" ");
        // reflection's own generation is in the total: the answer is judged by its own length
        assert.equal(hitTokenCap({rounds: 1, responses: ["a b"], tokens: {prompt: 1, generated: 200}}, "reflection", 64, tokens), false);
        assert.equal(hitTokenCap({rounds: 2, responses: ["a", long], tokens: {prompt: 1, generated: 70}}, "none", 64, tokens), true);
        assert.equal(hitTokenCap({rounds: 2, responses: [long, "a b c"], tokens: {prompt: 1, generated: 70}}, "none", 64, tokens), false);
        // a prefix the engine was given is not generated
        assert.equal(hitTokenCap({rounds: 1, responses: ["P " + long], tokens: {prompt: 1, generated: 63}}, "reflection", 64, tokens, "P "), true);
        assert.equal(hitTokenCap({rounds: 1, responses: ["P Q R " + "w w"], tokens: {prompt: 1, generated: 3}}, "reflection", 64, tokens, "P Q R "), false);
    });
});

describe("eval --rebuild-store (SmolLM2) @model", function () {
    let dir: string;
    let runtime: ModelRuntime;

    before(async function () {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "hindsight-rebuild-"));
        runtime = await ModelRuntime.load({modelPath: await realTestModel(), gpu: "cpu", threads: Number(process.env.HINDSIGHT_THREADS ?? 2), contextSize: 4096});
    });

    after(async function () {
        await runtime?.dispose();
        fs.rmSync(dir, {recursive: true, force: true});
    });

    it("a store rebuilt from the journal's phase 1 alone (interrupted once) holds the same logs, KV and embeddings, and retrieves alike", async function () {
        const lines = zlib.gunzipSync(fs.readFileSync(path.join(shippedDataDir(), "evoeval/EvoEval_difficult.jsonl.gz"))).toString("utf8").split("\n");
        const data = path.join(dir, "tasks.jsonl");
        fs.writeFileSync(data, lines.slice(0, 3).join("\n") + "\n");
        const suite = loadSuite("code", {seed: 0, data: [data], maxRounds: 1, maxTokensPerRound: 24});
        const journal = Journal.open(path.join(dir, "items.jsonl"));
        const workspace = "eval:code";

        const original = await LogStore.open(path.join(dir, "store"));
        const engineA = await HindsightEngine.create(runtime, original);
        await runEval(engineA, suite, journal, {modes: ["kv"], workspace, phase: "1", progress: null});
        const logged = journal.all();
        assert.equal(logged.length, 3);
        assert.ok(logged.every((r) => r.request != null && r.responses != null && r.workspace === workspace && r.outcome != null && typeof r.truncated === "boolean"));
        assert.ok(logged.some((r) => r.truncated), "SmolLM2 does not end a function in 24 tokens");
        // give one log a passing outcome, so that retrieval (which leaves failed logs out) has something to find
        // whatever the tiny model wrote; the journal says so too, as a run would have
        const lines2 = fs.readFileSync(journal.file, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
        lines2.forEach((r, i) => { r.outcome = i % 2 === 0 ? "tests-passed" : "tests-failed"; });
        fs.writeFileSync(journal.file, lines2.map((r) => JSON.stringify(r)).join("\n") + "\n");
        for (const [i, r] of journal.all().entries())
            await original.setOutcome(r.logId!, i % 2 === 0 ? "tests-passed" : "tests-failed");
        const reopened = Journal.open(journal.file);

        const rebuilt = await LogStore.open(path.join(dir, "rebuilt"));
        const engineB = await HindsightEngine.create(runtime, rebuilt);
        try {
            // a rebuild killed after its first log goes on from the second when run again
            const interrupt = new AbortController();
            await assert.rejects(rebuildStore(engineB, reopened, workspace, {signal: interrupt.signal, progress: () => interrupt.abort()}), /cancelled/);
            assert.equal(await rebuilt.countLogs(), 1);
            const stored: number[] = [];
            assert.deepEqual(await rebuildStore(engineB, reopened, workspace, {progress: (done) => stored.push(done)}), {logs: 3, approximate: 0, resumed: 1});
            assert.deepEqual(stored, [2, 3], "the log stored before is not stored again");
            assert.deepEqual(await rebuildStore(engineB, reopened, workspace), {logs: 3, approximate: 0, resumed: 3});
            assert.equal(await rebuilt.countLogs(), 3);
            // a store that holds another journal's logs is refused, and nothing is added to it
            const other = await LogStore.open(path.join(dir, "other"));
            const engineC = await HindsightEngine.create(runtime, other);
            try {
                await engineC.storeLog({task: "a task of another run", workspace, responses: ["def f():\n    return 1"]});
                await assert.rejects(rebuildStore(engineC, reopened, workspace), /not the first ones of this journal/);
                assert.equal(await other.countLogs(), 1);
            } finally {
                await engineC.dispose();
                other.close();
            }
            const content = async (store: LogStore) => {
                const logs = (await store.listLogs({workspace})).sort((a, b) => a.task.localeCompare(b.task));
                return Promise.all(logs.map(async (l) => {
                    const kv = await store.getKv(l.id, runtime.fingerprint.id);
                    return {task: l.task, logText: l.logText, lastResponse: l.lastResponse, outcome: l.outcome, nTokens: l.nTokens,
                        kvTokens: kv!.tokens, kvBytes: Buffer.from(kv!.data).toString("base64")};
                }));
            };
            assert.deepEqual(await content(rebuilt), await content(original));

            const retrieveBy = async (engine: HindsightEngine, store: LogStore, query: string) => {
                const hits = await new Retriever(store, await engine.getEmbedder()).retrieve(query, {k: 3, workspace});
                return Promise.all(hits.map(async (h) => ({task: (await store.getLog(h.id))!.task, score: h.score.toFixed(9)})));
            };
            let found = 0;
            for (const task of [...suite.testTasks, ...suite.logTasks]) {
                const a = await retrieveBy(engineA, original, task.query);
                found += a.length;
                assert.deepEqual(await retrieveBy(engineB, rebuilt, task.query), a, task.id);
            }
            assert.ok(found > 0, "the queries retrieve something");
            // and the engine answers alike from either store (greedy decoding, stacked KV from the rebuilt logs)
            const task = suite.testTasks[0]!;
            const ask = (engine: HindsightEngine) => engine.ask(task.request, {workspace, mode: "kv", maxRounds: 1, maxTokensPerRound: 16, log: false, query: task.query});
            const [ra, rb] = [await ask(engineA), await ask(engineB)];
            assert.ok(ra.usedLogs.length > 0);
            assert.equal(rb.answer, ra.answer);
        } finally {
            await engineA.dispose();
            await engineB.dispose();
            original.close();
            rebuilt.close();
        }
    });
});
