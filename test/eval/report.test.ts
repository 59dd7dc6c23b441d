import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import {spawnSync} from "node:child_process";
import {fileURLToPath} from "node:url";
import {Journal, itemKey, type ItemRecord} from "../../src/eval/Journal.js";
import {renderChart} from "../../src/eval/chart.js";
import {crc32} from "../../src/eval/png.js";
import {summarize, toMarkdown, type RunMeta} from "../../src/eval/report.js";
import {mcnemarExactP, pairedDifference, wilson} from "../../src/eval/metrics.js";
import type {AskMode} from "../../src/engine/index.js";

function item(mode: AskMode, taskId: string, correct: boolean, phase: ItemRecord["phase"] = "eval"): ItemRecord {
    return {
        key: itemKey(phase, mode, taskId), phase, mode, taskId, answer: "x", correct, detail: "", rounds: 1, tokensIn: 10,
        tokensOut: 5, ttftMs: 100, totalMs: 1000, usedLogs: mode === "none" ? [] : ["L1"], usedTasks: mode === "none" ? [] : ["P1"],
        parentRetrieved: mode === "none" ? false : true, finishedAt: "2026-01-01T00:00:00Z"
    };
}

const meta: RunMeta = {
    suite: "code", command: "hindsight eval", model: {path: "/m.gguf", name: "Test", sha256: "ab".repeat(32), kvType: "f16", threads: 1, contextSize: 8192},
    seed: 0, logTasks: 1, testTasks: 2, modes: ["none", "kv"], k: 3, maxRounds: 1, maxTokensPerRound: 64, data: [], logData: [], host: "here", updatedAt: ""
};

describe("eval paired statistics", function () {
    it("exact McNemar p-values on known splits", function () {
        assert.equal(mcnemarExactP(0, 0), 1);
        assert.equal(mcnemarExactP(5, 0), 0.0625);          // 2 / 2^5
        assert.ok(Math.abs(mcnemarExactP(10, 2) - 0.03857421875) < 1e-12); // 2 * (1 + 12 + 66) / 4096
        assert.equal(mcnemarExactP(3, 3), 1);
        assert.equal(mcnemarExactP(2, 10), mcnemarExactP(10, 2));
    });

    it("paired difference with Newcombe's interval", function () {
        // no task differs and none is right: the interval is the Wilson bound either way, not a point
        const none = pairedDifference({both: 0, wins: 0, losses: 0, neither: 15});
        const upper = wilson(0, 15).high;
        assert.equal(none.value, 0);
        assert.ok(Math.abs(none.high - upper) < 1e-12 && Math.abs(none.low + upper) < 1e-12);
        assert.ok(Math.abs(upper - 0.204) < 0.001);
        // more wins than losses: a positive difference whose interval holds it, narrower with more tasks
        const d = pairedDifference({both: 10, wins: 6, losses: 2, neither: 22});
        assert.equal(d.value, 0.1);
        assert.ok(d.low < 0.1 && d.high > 0.1 && d.low > -0.1 && d.high < 0.3);
        const bigger = pairedDifference({both: 100, wins: 60, losses: 20, neither: 220});
        assert.ok(bigger.high - bigger.low < d.high - d.low && bigger.low > 0);
        assert.ok(Number.isNaN(pairedDifference({both: 0, wins: 0, losses: 0, neither: 0}).value));
    });

    it("kv is paired with each mode on the tasks done in both, when costlier modes ran on fewer tasks", function () {
        const items = [item("none", "T1", false), item("kv", "T1", true), item("none", "T2", false), item("kv", "T2", true),
            item("none", "T3", true), item("kv", "T3", true), item("text-all", "T1", true)];
        const report = summarize({...meta, modes: ["none", "text-all", "kv"]}, items, null);
        assert.equal(report.completeTasks, 1);
        assert.deepEqual(report.kvVersus.map((v) => [v.mode, v.n, v.wins, v.losses]), [["none", 3, 2, 0], ["text-all", 1, 0, 0]]);
    });

    it("parent recall over retrievable parents leaves out tasks whose parent failed its tests", function () {
        const withParent = (mode: AskMode, taskId: string, parent: string, found: boolean): ItemRecord =>
            ({...item(mode, taskId, false), parents: [parent], parentRetrieved: found});
        const items = [item("none", "P1", true, "log"), item("none", "P2", false, "log"),
            withParent("kv", "T1", "P1", true), withParent("kv", "T2", "P2", false), withParent("kv", "T3", "P1", false)];
        const kv = summarize({...meta, modes: ["kv"]}, items, null).modes[0]!;
        assert.equal(kv.recall!.value, 1 / 3);
        assert.deepEqual([kv.recallRetrievable!.value, kv.recallRetrievable!.n], [0.5, 2]);
    });
});

describe("eval journal and report", function () {
    it("a line cut short by a kill is dropped and the file continues on a fresh line", function () {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hindsight-journal-"));
        const file = path.join(dir, "items.jsonl");
        const j = Journal.open(file);
        j.append(item("none", "T1", true));
        j.append(item("none", "T1", false));
        fs.appendFileSync(file, JSON.stringify(item("kv", "T1", true)).slice(0, 40));
        const j2 = Journal.open(file);
        assert.deepEqual(j2.all().map((r) => r.key), ["eval|none|T1"]);
        j2.append(item("kv", "T1", true));
        assert.deepEqual(Journal.open(file).all().map((r) => r.key), ["eval|none|T1", "eval|kv|T1"]);
        fs.rmSync(dir, {recursive: true});
    });

    it("summary pairs kv against the other modes and renders a table and a PNG", function () {
        const items = [item("none", "P1", true, "log"), item("none", "T1", false), item("kv", "T1", true), item("none", "T2", true), item("kv", "T2", true)];
        const report = summarize(meta, items, null);
        assert.equal(report.completeTasks, 2);
        assert.deepEqual(report.kvVersus.map(({mode, n, wins, losses, delta, p}) => ({mode, n, wins, losses, delta, p})), [{mode: "none", n: 2, wins: 1, losses: 0, delta: 0.5, p: 1}]);
        assert.ok(report.kvVersus[0]!.interval.low < 0.5 && report.kvVersus[0]!.interval.high > 0.5);
        assert.equal(report.modes[1]!.accuracy.value, 1);
        assert.equal(report.modes[1]!.recall!.value, 1);
        const md = toMarkdown(report);
        assert.match(md, /\| kv \| 2 \| 100\.0 \[34\.2, 100\.0\] \|/);
        assert.match(md, /Phase 1 \(logged, mode none\): 1\/1 tasks, 100\.0 \[20\.7, 100\.0\] % correct; 1\.00 ± 0\.00 rounds per log, 0\.0 \[0\.0, 79\.3\] % of logs/);
        assert.match(md, /- vs `none` \(n 2\): \+1 \/ -0, \+50\.0 points \[-?[0-9.]+, \+[0-9.]+\], p = 1\.00/);
        const png = renderChart(report);
        assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
        const width = png.readUInt32BE(16), height = png.readUInt32BE(20);
        const idatLength = png.readUInt32BE(33);
        const raw = zlib.inflateSync(png.subarray(41, 41 + idatLength));
        assert.equal(raw.length, (width * 3 + 1) * height);
        assert.equal(crc32(Buffer.from("IEND")), 0xae426082);
    });

    it("--report-only rebuilds the reports without a model, over the modes asked for", function () {
        this.timeout(120_000);
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hindsight-report-"));
        const runDir = path.join(dir, "r");
        fs.mkdirSync(runDir);
        fs.writeFileSync(path.join(runDir, "meta.json"), JSON.stringify({...meta, modes: ["none"]}));
        fs.writeFileSync(path.join(runDir, "items.jsonl"), [item("none", "T1", false), item("kv", "T1", true)].map((r) => JSON.stringify(r)).join("\n") + "\n");
        const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
        const report = (modes: string[]) => {
            const r = spawnSync(process.execPath, [path.join(root, "bin", "hindsight.js"), "eval", "--report-only", "--out", dir, "--run", "r", ...modes],
                {encoding: "utf8", env: {...process.env, HINDSIGHT_MODEL: ""}});
            assert.equal(r.status, 0, r.stderr);
            return fs.readFileSync(path.join(runDir, "results.md"), "utf8");
        };
        assert.doesNotMatch(report([]), /\| kv \|/);
        assert.match(report(["--modes", "none,kv"]), /\| kv \| 1 \| 100\.0/);
        fs.rmSync(dir, {recursive: true});
    });
});
