import assert from "node:assert/strict";
import {spawn, spawnSync} from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import {fileURLToPath} from "node:url";
import {LogStore} from "../../src/engine/index.js";
import type {ItemRecord} from "../../src/eval/Journal.js";
import type {RunReport} from "../../src/eval/report.js";
import {shippedDataDir} from "../../src/eval/suites.js";
import {realTestModel} from "../support/realModel.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const bin = path.join(root, "bin", "hindsight.js");
const env = {...process.env, HINDSIGHT_THREADS: process.env.HINDSIGHT_THREADS ?? "1", HINDSIGHT_MODEL: "", HINDSIGHT_STORE: ""};

/** The first `n` EvoEval difficult tasks as a data file of the shipped format. */
function tinyData(dir: string, n: number): string {
    const lines = zlib.gunzipSync(fs.readFileSync(path.join(shippedDataDir(), "evoeval/EvoEval_difficult.jsonl.gz"))).toString("utf8").split("\n");
    const file = path.join(dir, `tasks${n}.jsonl`);
    fs.writeFileSync(file, lines.slice(0, n).join("\n") + "\n");
    return file;
}

function evalArgs(model: string, data: string, out: string, run: string): string[] {
    return ["eval", "--suite", "code", "--data", data, "--modes", "none,kv", "--max-tokens", "24", "--out", out, "--run", run, "--model", model];
}

function readItems(file: string): ItemRecord[] {
    return fs.readFileSync(file, "utf8").split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l) as ItemRecord);
}

describe("hindsight eval (SmolLM2) @model", function () {
    let dir: string;
    let model: string;

    before(async function () {
        model = await realTestModel();
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "hindsight-eval-"));
    });

    after(function () {
        fs.rmSync(dir, {recursive: true, force: true});
    });

    it("2 tasks x 2 modes end to end: JSON, Markdown, SVG; a second run gives the same answers", function () {
        const data = tinyData(dir, 2);
        const answers: string[][] = [];
        for (const run of ["a", "b"]) {
            const r = spawnSync(process.execPath, [bin, ...evalArgs(model, data, dir, run)], {cwd: root, encoding: "utf8", env, timeout: 900_000});
            assert.equal(r.status, 0, r.stderr);
            const report = JSON.parse(fs.readFileSync(path.join(dir, run, "results.json"), "utf8")) as RunReport;
            assert.equal(report.items.filter((i) => i.phase === "log").length, 2);
            assert.deepEqual(report.modes.map((m) => [m.mode, m.n]), [["none", 2], ["kv", 2]]);
            assert.equal(report.completeTasks, 2);
            assert.equal(report.meta.model.kvType, "f16");
            assert.match(report.meta.command, /eval --suite code/);
            assert.match(fs.readFileSync(path.join(dir, run, "results.md"), "utf8"), /\| kv \| 2 \|/);
            assert.match(fs.readFileSync(path.join(dir, run, "chart.svg"), "utf8"), /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
            answers.push(report.items.map((i) => `${i.key}=${i.answer}`).sort());
        }
        assert.deepEqual(answers[0], answers[1]);
    });

    it("refuses to continue a run whose log store is gone, instead of evaluating against an empty memory", function () {
        fs.rmSync(path.join(dir, "a", "store"), {recursive: true, force: true});
        const journalBefore = fs.readFileSync(path.join(dir, "a", "items.jsonl"), "utf8");
        const r = spawnSync(process.execPath, [bin, ...evalArgs(model, tinyData(dir, 2), dir, "a")], {cwd: root, encoding: "utf8", env, timeout: 900_000});
        assert.notEqual(r.status, 0);
        assert.match(r.stderr, /log store does not hold/);
        assert.doesNotMatch(r.stderr, /^\s+at /m, "no stack trace");
        assert.equal(fs.readFileSync(path.join(dir, "a", "items.jsonl"), "utf8"), journalBefore, "the journal is untouched");
    });

    it("a run killed mid-way continues where it stopped: nothing done twice, nothing missing", async function () {
        const data = tinyData(dir, 3);
        const runDir = path.join(dir, "resume");
        const journal = path.join(runDir, "items.jsonl");
        const child = spawn(process.execPath, [bin, ...evalArgs(model, data, dir, "resume")], {cwd: root, env, stdio: "ignore"});
        const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
        for (;;) {
            await new Promise((r) => setTimeout(r, 200));
            if (fs.existsSync(journal) && readItems(journal).length >= 4)
                break;
            assert.equal(child.exitCode, null, "the run ended before it could be killed");
        }
        child.kill("SIGKILL");
        await exited;
        const before = readItems(journal).length;
        assert.ok(before >= 4 && before < 9, `killed after ${before} items`);

        const r = spawnSync(process.execPath, [bin, ...evalArgs(model, data, dir, "resume")], {cwd: root, encoding: "utf8", env, timeout: 900_000});
        assert.equal(r.status, 0, r.stderr);
        const keys = readItems(journal).map((i) => i.key);
        assert.equal(new Set(keys).size, keys.length, "an item was done twice");
        const tasks = ["tasks3:EvoEval/0", "tasks3:EvoEval/1", "tasks3:EvoEval/2"];
        const expected = [...["HumanEval/0", "HumanEval/1", "HumanEval/2"].map((t) => `log|none|${t}`), ...tasks.flatMap((t) => [`eval|none|${t}`, `eval|kv|${t}`])];
        assert.deepEqual([...keys].sort(), expected.sort());
        const store = await LogStore.open(path.join(runDir, "store"), {readOnly: true});
        try {
            assert.equal((await store.listLogs()).length, 3, "a task was logged twice");
        } finally {
            store.close();
        }
    });
});
