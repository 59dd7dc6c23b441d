import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {spawnSync} from "node:child_process";
import {fileURLToPath} from "node:url";
import {Journal, itemKey, type ItemRecord} from "../../src/eval/Journal.js";
import {JSDOM} from "jsdom";
import {escapeXml, renderChart} from "../../src/eval/chart.js";
import {pValue, setOf, summarize, toMarkdown, type RunMeta} from "../../src/eval/report.js";
import {mcnemarExactP, pairedDifference, pairedMeanDifference, tQuantile975, wilson} from "../../src/eval/metrics.js";
import {defaults, type AskMode} from "../../src/engine/index.js";
import type {EvalMode} from "../../src/eval/evalMode.js";

function item(mode: EvalMode, taskId: string, correct: boolean, phase: ItemRecord["phase"] = "eval"): ItemRecord {
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
        assert.deepEqual(report.kvVersus.map((v) => [v.against, v.n, v.wins, v.losses]), [["none", 3, 2, 0], ["text-all", 1, 0, 0]]);
    });

    it("tasks answered in every mode count only the modes with answers in the set", function () {
        // text-last ran in another set only; kv@k1 only on T1: the concise tasks are complete in none and kv
        const items = [item("none", "C:T1", true), item("kv", "C:T1", true), item("kv@k1", "C:T1", true),
            item("none", "C:T2", false), item("kv", "C:T2", true), item("text-last", "D:T1", true)];
        const report = summarize({...meta, modes: ["none", "text-last", "kv", "kv@k1"]}, items, null);
        const c = report.sets.find((s) => s.set === "C")!;
        assert.deepEqual([c.tasks, c.completeTasks, c.answeredModes], [2, 1, 3]);
        const d = report.sets.find((s) => s.set === "D")!;
        assert.deepEqual([d.tasks, d.completeTasks, d.answeredModes], [1, 1, 1]);
        assert.match(toMarkdown(report), /## C\n\n2 tasks; 1 answered in all 3 modes with answers here/);
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

describe("eval report per set", function () {
    const r = (mode: EvalMode, set: string, task: string, correct: boolean, extra: Partial<ItemRecord> = {}): ItemRecord =>
        ({...item(mode, `${set}:${task}`, correct), set, parents: [task], ...extra});

    it("each set apart: conditional on a passing parent, wins and losses against none apart, truncation counts", function () {
        const items = [
            item("none", "H1", true, "log"), item("none", "H2", false, "log"),
            // concise: kv wins on H1 (parent passed), loses on H2 (parent failed)
            r("none", "C", "H1", false, {truncated: true}), r("kv", "C", "H1", true, {truncated: false}),
            r("none", "C", "H2", true, {truncated: false}), r("kv", "C", "H2", false, {truncated: true}),
            // difficult: nothing changes
            r("none", "D", "H1", false), r("kv", "D", "H1", false)
        ];
        const report = summarize(meta, items, null);
        assert.deepEqual(report.sets.map((s) => [s.set, s.tasks, s.completeTasks]), [["C", 2, 2], ["D", 1, 1]]);
        const c = report.sets[0]!;
        const v = c.versusNone.find((x) => x.mode === "kv")!;
        assert.deepEqual([v.n, v.wins, v.losses, v.delta], [2, 1, 1, 0]);
        assert.deepEqual([v.conditional.n, v.conditional.wins, v.conditional.losses], [1, 1, 0]);
        const kv = c.modes.find((x) => x.mode === "kv")!;
        assert.deepEqual([kv.conditional.value, kv.conditional.n, kv.truncated.value, kv.truncated.n], [1, 1, 0.5, 2]);
        // a set without recorded truncation says "-"
        const md = toMarkdown(report);
        assert.match(md, /## C\n/);
        assert.match(md, /\| kv \| 2 \| 50\.0 \[[0-9.]+, [0-9.]+\] \| 100\.0 \[[0-9.]+, 100\.0\] \(1\) \| 1\/2 \|/);
        assert.match(md, /## D\n[\s\S]*\| kv \| 1 \| 0\.0 \[0\.0, 79\.3\] \| 0\.0 \[0\.0, 79\.3\] \(1\) \| - \|/);
        assert.match(md, /- `kv` vs `none` \(n 2\): \+1 \/ -1, \+0\.0 points \[-?[0-9.]+, \+[0-9.]+\], p = 1\.00; cond\. \(n 1\): \+1 \/ -0/);
        // journals from before sets were kept: the set comes from the task id's prefix
        assert.equal(setOf({...item("kv", "EvoEval_creative:EvoEval/3", true)}), "EvoEval_creative");
        assert.equal(setOf(item("kv", "EvoEval/3", true)), "all");
    });

    it("a set's section shows the modes run on it and only comparisons with paired tasks; the default mode is set against the others", function () {
        const gate = defaults.mode;
        const lp = (mode: EvalMode, task: string, logprob: number): ItemRecord => ({...r(mode, "X", task, false), key: itemKey("score", mode, `X:${task}`), phase: "score", logprob});
        const items = [
            // C: pass@1 in none, kv and the default; text-last never ran here
            r("none", "C", "A", false), r("kv", "C", "A", false), r(gate, "C", "A", true),
            r("none", "C", "B", true), r("kv", "C", "B", true), r(gate, "C", "B", true),
            // X: log-probabilities in none, text-last and the default
            lp("none", "A", -1.0), lp("text-last", "A", -0.5), lp(gate, "A", -0.75), lp("none", "B", -2.0), lp("text-last", "B", -1.0), lp(gate, "B", -1.5)
        ];
        const report = summarize({...meta, modes: ["none", "text-last", "reflection", "kv", gate]}, items, null);
        const c = report.sets.find((s) => s.set === "C")!;
        assert.deepEqual(c.defaultVersus.map((v) => [v.against, v.n, v.wins, v.losses]), [["text-last", 0, 0, 0], ["reflection", 0, 0, 0]]);
        const md = toMarkdown(report);
        const sectionC = md.slice(md.indexOf("## C\n"), md.indexOf("## X\n"));
        assert.doesNotMatch(sectionC, /\| text-last \|/, "a mode with no answers in the set has no row");
        assert.match(sectionC, /\| kv \| 2 \|/);
        assert.doesNotMatch(sectionC, /^- `[^`]+` vs `[^`]+` \(n 0\)/m, "no comparison without paired tasks");
        assert.match(sectionC, new RegExp(`- \`${gate.replace(/\+/g, "\\+")}\` vs \`none\` \\(n 2\\): \\+1 / -0`));
        const sectionX = md.slice(md.indexOf("## X\n"));
        assert.match(sectionX, /No pass@1 answers in this set yet\./);
        assert.doesNotMatch(md.slice(0, md.indexOf("## C\n")), /\| reflection \|/, "the overview leaves out a mode with no items");
        // the default against text-last: -0.25 and -0.5 per task
        assert.match(sectionX, new RegExp(`- \`${gate.replace(/\+/g, "\\+")}\` - \`text-last\` \\(n 2\\): -0\\.375 \\[[-0-9.]+, [-0-9.]+\\], higher on 0, lower on 2`));
    });

    it("log-probability metric: paired differences with the paired t interval", function () {
        const lp = (mode: AskMode, task: string, logprob: number): ItemRecord => ({...r(mode, "C", task, false), key: itemKey("score", mode, `C:${task}`), phase: "score", logprob});
        const items = [lp("none", "A", -1.0), lp("kv", "A", -0.5), lp("none", "B", -2.0), lp("kv", "B", -1.0), lp("none", "C2", -1.5), lp("kv", "C2", -1.2)];
        const set = summarize(meta, items, null).sets[0]!;
        const d = set.scoreVersus[0]!;
        assert.deepEqual([d.mode, d.against, d.higher, d.lower], ["kv", "none", 3, 0]);
        // differences 0.5, 1.0, 0.3: mean 0.6, sd 0.3606, t(2) = 4.303
        assert.ok(Math.abs(d.difference.value - 0.6) < 1e-12);
        const half = 4.303 * Math.sqrt(((0.1) ** 2 + 0.4 ** 2 + 0.3 ** 2) / 2) / Math.sqrt(3);
        assert.ok(Math.abs(d.difference.high - 0.6 - half) < 1e-9);
        assert.match(toMarkdown(summarize(meta, items, null)), /- `kv` - `none` \(n 3\): 0\.600 \[-?[0-9.]+, [0-9.]+\], higher on 3, lower on 0/);
        assert.equal(summarize(meta, items, null).modes[0]!.n, 0, "score items are not answers");
    });

    it("one table sets every mode against none in every set: pass@1 wins and losses apart, and the log-prob difference", function () {
        const lp = (mode: AskMode, set: string, task: string, logprob: number): ItemRecord => ({...r(mode, set, task, false), key: itemKey("score", mode, `${set}:${task}`), phase: "score", logprob});
        const items = [
            // C: kv right where none is wrong on A and B, wrong where none is right on D; no log-prob items
            r("none", "C", "A", false), r("kv", "C", "A", true), r("none", "C", "B", false), r("kv", "C", "B", true),
            r("none", "C", "D", true), r("kv", "C", "D", false),
            // X (changed tasks): log-prob only, kv lower by 0.25 on both tasks
            lp("none", "X", "A", -1.0), lp("kv", "X", "A", -1.25), lp("none", "X", "B", -2.0), lp("kv", "X", "B", -2.25)
        ];
        const md = toMarkdown(summarize(meta, items, null));
        const table = md.slice(md.indexOf("## Every mode against `none`"), md.indexOf("## C\n"));
        assert.match(table, /\| mode \| C pass@1 vs none \| C log-prob vs none \| X pass@1 vs none \| X log-prob vs none \| tokens in \| TTFT s \|/);
        // the same difference on both tasks: no spread, so the interval is the point
        assert.match(table, /\| kv \| \+2 \/ -1 \(3\) \| - \| - \| -0\.250 \[-0\.250, -0\.250\] \(2\) \| 10 ± 0 \| 0\.1 ± 0\.0 \|/);
        assert.match(table, /\| none \|  \|  \|  \|  \| 10 ± 0 \| 0\.1 ± 0\.0 \|/);
        // without none there is nothing to set the modes against
        assert.doesNotMatch(toMarkdown(summarize({...meta, modes: ["kv"]}, items, null)), /Every mode against/);
    });

    it("t quantiles: table and expansion", function () {
        assert.equal(tQuantile975(1), 12.706);
        assert.ok(Math.abs(tQuantile975(40) - 2.0211) < 2e-4 && Math.abs(tQuantile975(120) - 1.9799) < 2e-4);
        assert.ok(Number.isNaN(pairedMeanDifference([1], [0]).low));
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

    it("summary pairs kv against the other modes and renders a table and an SVG chart", function () {
        const items = [item("none", "P1", true, "log"), item("none", "T1", false), item("kv", "T1", true), item("none", "T2", true), item("kv", "T2", true)];
        const report = summarize(meta, items, null);
        assert.equal(report.completeTasks, 2);
        assert.deepEqual(report.kvVersus.map(({against, n, wins, losses, delta, p}) => ({against, n, wins, losses, delta, p})), [{against: "none", n: 2, wins: 1, losses: 0, delta: 0.5, p: 1}]);
        assert.ok(report.kvVersus[0]!.interval.low < 0.5 && report.kvVersus[0]!.interval.high > 0.5);
        assert.equal(report.modes[1]!.accuracy.value, 1);
        assert.equal(report.modes[1]!.recall!.value, 1);
        const md = toMarkdown(report);
        assert.match(md, /\| kv \| 2 \| 100\.0 \[34\.2, 100\.0\] \| - \(0\) \|/);
        assert.match(md, /Phase 1 \(logged, mode none\): 1\/1 tasks, 100\.0 \[20\.7, 100\.0\] % correct; 1\.00 ± 0\.00 rounds per log, 0\.0 \[0\.0, 79\.3\] % of logs/);
        assert.match(md, /- Budget: top-3 logs per query, at most 1 round\(s\) of 64 tokens/);
        assert.match(md, /- `kv` vs `none` \(n 2\): \+1 \/ -0, \+50\.0 points \[-?[0-9.]+, \+[0-9.]+\], p = 1\.00; cond\. \(n 0\)/);
        // a p below 0.01 keeps a significant digit: 11 wins to none is p = 0.001, not 0.00
        const eleven = Array.from({length: 11}, (_, i) => [item("none", `W${i}`, false), item("kv", `W${i}`, true)]).flat();
        assert.match(toMarkdown(summarize(meta, eleven, null)), /- `kv` vs `none` \(n 11\): \+11 \/ -0, \+100\.0 points \[[0-9.+]+, \+100\.0\], p = 0\.001;/);
        assert.deepEqual([0.25, 0.0098, 0.00098, 1e-7].map(pValue), ["0.25", "0.01", "0.001", "1e-7"]);
        const svg = renderChart(report);
        const doc = new JSDOM(svg, {contentType: "image/svg+xml"}).window.document;
        assert.equal(doc.documentElement.tagName, "svg");
        assert.equal(doc.querySelector("parsererror"), null, "well-formed XML");
        const texts = [...doc.querySelectorAll("text")].map((t) => t.textContent);
        assert.ok(texts.includes("code: Test"), "real text, the title");
        assert.ok(texts.some((t) => /KV f16, top-3, 1 round\(s\) x 64 tokens/.test(t ?? "")), "the settings");
        assert.ok(texts.includes("none") && texts.includes("kv"), "the legend");
        assert.ok(texts.some((t) => t?.startsWith("pass@1 %: all")));
        assert.equal(doc.querySelectorAll("rect[fill]").length, 1 + 3 * 2 + 2, "background, 2 bars in 3 panels, 2 legend swatches");
        assert.equal(escapeXml("<a & \"b\">"), "&lt;a &amp; &quot;b&quot;&gt;");
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
