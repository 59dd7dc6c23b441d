import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {Journal} from "../../src/eval/Journal.js";
import {summarize, type RunMeta} from "../../src/eval/report.js";
import {runScores, type ScoreFn} from "../../src/eval/runEval.js";
import {evoEvalFiles, loadSuite} from "../../src/eval/suites.js";

describe("eval --metric logprob (harness side; engine.score stubbed, tested exactly in test/engine/score.test.ts)", function () {
    it("scores each task's reference answer in each mode with that mode's options, journals score items, resumes, reports paired differences", async function () {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hindsight-scores-"));
        try {
            const suite = loadSuite("code", {seed: 1, limit: 3, data: evoEvalFiles(["concise"]), maxRounds: 3});
            const calls: {request: string, continuation: string, mode: string, options: object, query: string}[] = [];
            const result = (meanLogProb: number, usedLogs: string[]) => ({meanLogProb, sumLogProb: 20 * meanLogProb, tokens: 20, promptTokens: 100,
                prefixCells: 0, usedLogs, timings: {retrieveMs: 0, kvLoadMs: 0, scoreMs: 0, totalMs: 0}});
            const score: ScoreFn = (request, continuation, options) => {
                calls.push({request, continuation, mode: options.mode!, options, query: options.query!});
                const base = -1 - calls.length / 100;
                return Promise.resolve(options.mode === "kv" ? result(base + 0.5, ["L1"]) : result(base, []));
            };
            const journal = Journal.open(path.join(dir, "items.jsonl"));
            const taskByLog = new Map([["L1", suite.testTasks[0]!.parents[0]!]]);
            const o = {modes: ["none", "kv"] as const, workspace: "eval:code", testTasks: suite.testTasks, taskByLog};
            await runScores(score, suite, journal, o);
            assert.equal(calls.length, 6);
            const first = calls[0]!;
            assert.equal(first.request, suite.testTasks[0]!.request);
            assert.ok(first.continuation.startsWith("ANSWER:\n```python\n") && first.continuation.endsWith("\n```"));
            assert.ok(!("maxRounds" in first.options) && !("log" in first.options), "one forward pass over round 1's prompt; nothing logged");
            assert.equal(first.query, suite.testTasks[0]!.query);
            // resumable: nothing is scored twice
            await runScores(score, suite, Journal.open(journal.file), o);
            assert.equal(calls.length, 6);
            const items = Journal.open(journal.file).all();
            assert.deepEqual(items.map((r) => r.key.split("|").slice(0, 2).join("|")), ["score|none", "score|kv", "score|none", "score|kv", "score|none", "score|kv"]);
            const kv0 = items[1]!;
            assert.deepEqual([kv0.set, kv0.scoredTokens, kv0.tokensIn, kv0.usedTasks, kv0.parentRetrieved], ["EvoEval_concise", 20, 100, [suite.testTasks[0]!.parents[0]], true]);
            // answer prefix style: the prefix goes to the engine as the reply's start, only the rest is scored
            const prefixed = loadSuite("code", {seed: 1, limit: 1, data: evoEvalFiles(["concise"]), answerStyle: "prefix"});
            const seen: {continuation: string, answerPrefix?: string}[] = [];
            await runScores((_r, continuation, options) => {
                seen.push({continuation, answerPrefix: options.answerPrefix});
                return Promise.resolve(result(-1, []));
            }, prefixed, Journal.open(path.join(dir, "prefixed.jsonl")), {modes: ["none"], workspace: "w", testTasks: prefixed.testTasks, taskByLog});
            const t = prefixed.testTasks[0]!;
            assert.deepEqual(seen, [{continuation: t.reference!.slice(t.answerPrefix!.length), answerPrefix: t.answerPrefix}]);
            const meta = {suite: "code", command: "x", model: {path: "m", name: "M", sha256: "0".repeat(64), kvType: "f16", threads: 1, contextSize: 1},
                seed: 1, logTasks: 3, testTasks: 3, modes: ["none", "kv"], k: 3, maxRounds: 3, maxTokensPerRound: 512, data: [], logData: [], host: "", updatedAt: ""} satisfies RunMeta;
            const d = summarize(meta, items, null).sets[0]!.scoreVersus[0]!;
            assert.deepEqual([d.mode, d.against, d.difference.n, d.higher], ["kv", "none", 3, 3]);
            assert.ok(Math.abs(d.difference.value - 0.49) < 1e-9, String(d.difference.value));
        } finally {
            fs.rmSync(dir, {recursive: true, force: true});
        }
    });
});
