import assert from "node:assert/strict";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import {DirectoryToolHost} from "../../src/engine/agent/ToolHost.js";
import {HindsightEngine} from "../../src/engine/HindsightEngine.js";
import {ModelRuntime} from "../../src/engine/runtime/ModelRuntime.js";
import {LogStore} from "../../src/engine/store/index.js";
import {realTestModel} from "../support/realModel.js";

describe("engine with a real model (SmolLM2-135M) @model", function () {
    let dir: string;
    let runtime: ModelRuntime;
    let store: LogStore;
    let engine: HindsightEngine;
    let workspace: string;

    before(async function () {
        dir = await fs.mkdtemp(path.join(os.tmpdir(), "hindsight-real-"));
        workspace = path.join(dir, "ws");
        await fs.mkdir(workspace);
        await fs.writeFile(path.join(workspace, "utils.py"), "def parse(line):\n    return line.split(\",\")\n");
        await fs.writeFile(path.join(workspace, ".env"), "API_KEY=sk-live-abcdefghijklmnopqrstuvwxyz123456\n");
        runtime = await ModelRuntime.load({modelPath: await realTestModel(), gpu: "cpu", threads: 2, contextSize: 4096});
        store = await LogStore.open(path.join(dir, "store"));
        engine = await HindsightEngine.create(runtime, store);
    });

    after(async function () {
        await engine?.dispose();
        await runtime?.dispose();
        store?.close();
        await fs.rm(dir, {recursive: true, force: true});
    });

    let firstLogId: string;

    it("answers with streaming and logs the task", async function () {
        const pieces: string[] = [];
        const result = await engine.ask("How does parse in utils.py split a line?", {
            workspace, mode: "kv", maxRounds: 2, maxTokensPerRound: 96,
            tools: new DirectoryToolHost(workspace), onText: (t) => pieces.push(t)
        });
        assert.ok(pieces.length > 3, "the answer streams in several pieces");
        assert.ok(result.answer.length > 0);
        assert.deepEqual(result.usedLogs, [], "nothing to reuse yet");
        assert.ok(result.logId != null);
        firstLogId = result.logId!;
        const log = await store.getLog(firstLogId);
        assert.ok(log != null && log.nTokens > 0);
        assert.equal(log.logText, result.responses.map((r) => r.trim() + "\n\n").join(""), "the log text is the model's responses only");
        const kv = await store.getKv(firstLogId, runtime.fingerprint.id);
        assert.ok(kv != null && kv.tokens.length === log.nTokens, "the KV of the last response is stored for this model");
        assert.ok(result.timings.ttftMs != null && result.timings.ttftMs > 0);
    });

    it("a related request retrieves the log and stacks its KV", async function () {
        const result = await engine.ask("What does parse in utils.py return for a CSV line?", {
            workspace, mode: "kv", maxRounds: 1, maxTokensPerRound: 48, log: false
        });
        assert.ok(result.usedLogs.includes(firstLogId), `usedLogs ${JSON.stringify(result.usedLogs)} should hold ${firstLogId}`);
        assert.ok(result.timings.kvLoadMs > 0, "the log's KV was loaded");
        assert.equal(result.logId, null, "--no-log stores nothing");
    });

    it("an unrelated request does not retrieve it", async function () {
        const result = await engine.ask("Write a haiku about autumn leaves.", {workspace, mode: "kv", maxRounds: 1, maxTokensPerRound: 32, log: false});
        assert.deepEqual(result.usedLogs, []);
    });

    it("a rejected log is never reused", async function () {
        await store.setOutcome(firstLogId, "rejected");
        const result = await engine.ask("What does parse in utils.py return for a CSV line?", {workspace, mode: "kv", maxRounds: 1, maxTokensPerRound: 16, log: false});
        assert.ok(!result.usedLogs.includes(firstLogId));
        await store.setOutcome(firstLogId, "accepted");
    });

    it("text modes reuse the same logs as text", async function () {
        for (const mode of ["text-last", "text-all"] as const) {
            const result = await engine.ask("What does parse in utils.py return for a CSV line?", {workspace, mode, maxRounds: 1, maxTokensPerRound: 16, log: false});
            assert.ok(result.usedLogs.includes(firstLogId), mode);
            assert.equal(result.timings.kvLoadMs, 0, `${mode} loads no KV`);
        }
        const none = await engine.ask("What does parse in utils.py return for a CSV line?", {workspace, mode: "none", maxRounds: 1, maxTokensPerRound: 16, log: false});
        assert.deepEqual(none.usedLogs, []);
    });

    it("the tools never read secrets", async function () {
        const host = new DirectoryToolHost(workspace);
        assert.match(await host.readFile(".env"), /excluded/);
        assert.doesNotMatch(await host.listFiles("."), /\.env/);
        assert.match(await host.readFile("../../etc/passwd"), /outside the workspace/);
        assert.match(await host.readFile("utils.py"), /def parse/);
    });

    it("secrets in a response are redacted before logging", async function () {
        const log = await engine.storeLog({task: "rotate the key", workspace, responses: ["The key is sk-live-abcdefghijklmnopqrstuvwxyz123456, store it."]});
        assert.doesNotMatch(log.logText, /sk-live-abcdefghijklmnopqrstuvwxyz123456/);
        assert.match(log.logText, /\[REDACTED\]/);
    });

    it("a prompt too long for the context is refused with a clear error", async function () {
        const huge = "word ".repeat(5000);
        await assert.rejects(engine.ask(huge, {workspace, mode: "none", maxRounds: 1, log: false}), (err: Error & {code?: string}) => {
            assert.equal(err.code, "PROMPT_TOO_LONG");
            return true;
        });
    });

    it("an empty request is refused", async function () {
        await assert.rejects(engine.ask("   ", {workspace}), (err: Error & {code?: string}) => err.code === "INVALID_ARGUMENT");
    });
});
