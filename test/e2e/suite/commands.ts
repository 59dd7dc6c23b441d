// Integration tests that run inside the extension host of a real VS Code: the extension is activated with a
// temporary storage folder and the real SmolLM2 model (user settings written by the runner, see
// test/e2e/extension.test.ts) and driven through its commands, as the chat view and the palette drive it.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import * as vscode from "vscode";
import {asAskResult, asMemory, asStatus, field, type MemoryEntry} from "./hostTypes.js";

export const EXTENSION_ID = "hindsight-dev.hindsight";

async function command<T = unknown>(name: string, arg?: unknown): Promise<T> {
    return await vscode.commands.executeCommand<T>(name, ...(arg === undefined ? [] : [arg]));
}

async function memory(): Promise<MemoryEntry[]> {
    return asMemory(await command("hindsight.listMemory"));
}

export function defineCommandTests(): void {
    describe("Hindsight in VS Code: commands over the real model @model", function () {
        let firstLogId: string;
        let secondLogId: string;
        const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "hindsight-e2e-host-"));

        before(async function () {
            const ext = vscode.extensions.getExtension(EXTENSION_ID);
            assert.ok(ext, `extension ${EXTENSION_ID} is not loaded`);
            const wasActive = ext.isActive;
            const started = Date.now();
            await ext.activate();
            console.log(`    activate(): ${Date.now() - started} ms (${wasActive ? "already active (onStartupFinished)" : "activated by the test"})`);
            const config = vscode.workspace.getConfiguration("hindsight");
            const model = process.env.HINDSIGHT_TEST_MODEL;
            assert.ok(model, "HINDSIGHT_TEST_MODEL is not set in the extension host");
            assert.equal(config.get("modelPath"), model, "hindsight.modelPath comes from the run's user settings");
            const storage = config.get<string>("storageFolder");
            assert.equal(storage, process.env.HINDSIGHT_E2E_STORAGE, "hindsight.storageFolder is the run's temporary folder");
        });

        after(function () {
            fs.rmSync(scratch, {recursive: true, force: true});
        });

        it("starts with an empty memory", async function () {
            assert.deepEqual(await memory(), []);
        });

        it("answers a task and logs it", async function () {
            const r = asAskResult(await command("hindsight.ask", {request: "How does total_value in inventory.py compute its result?"}), "hindsight.ask");
            assert.ok(r.answer.trim().length > 0, "the answer is not empty");
            assert.deepEqual(r.usedLogs, [], "nothing to reuse yet");
            assert.ok(r.logId != null, "the task was logged");
            firstLogId = r.logId;
            const logs = await memory();
            const entry = logs.find((l) => l.id === firstLogId);
            assert.ok(entry, `listMemory ${JSON.stringify(logs)} holds ${firstLogId}`);
            assert.match(entry.task, /total_value/);
            assert.ok(entry.nTokens > 0, "its KV log has tokens");
        });

        it("is ready with the model loaded", async function () {
            const s = asStatus(await command("hindsight.status"));
            assert.equal(s.state, "ready", `status ${JSON.stringify(s)}`);
            assert.ok(s.model != null && s.model.length > 0, "status names the model");
        });

        it("a related request in a new chat reuses the first session", async function () {
            // within one conversation the first answer is in the prompt already and its session is not retrieved
            await command("hindsight.newChat");
            const r = asAskResult(await command("hindsight.ask", {request: "Does total_value in inventory.py skip blank lines, and what does parse_line return?"}), "hindsight.ask");
            assert.ok(r.usedLogs.includes(firstLogId), `usedLogs ${JSON.stringify(r.usedLogs)} should hold ${firstLogId}`);
            assert.ok(r.logId != null && r.logId !== firstLogId);
            secondLogId = r.logId;
        });

        it("marks the last answer good, then bad", async function () {
            const good = await command("hindsight.markGood");
            const goodOutcome = field(good, "outcome", "string");
            const goodId = field(good, "logId", "string");
            assert.equal((await memory()).find((l) => l.id === goodId)?.outcome, goodOutcome);
            const bad = await command("hindsight.markBad");
            const badOutcome = field(bad, "outcome", "string");
            assert.equal(field(bad, "logId", "string"), goodId, "both mark the same (last) answer");
            assert.equal(goodId, secondLogId, "the last answer is the related request's");
            assert.notEqual(badOutcome, goodOutcome);
            assert.equal((await memory()).find((l) => l.id === goodId)?.outcome, badOutcome);
            await command("hindsight.markGood");
        });

        it("an unrelated request does not reuse it", async function () {
            // The engine's retrieval keeps vector-only hits above a similarity floor (test/engine/realModel.test.ts).
            const r = asAskResult(await command("hindsight.ask", {request: "Write a haiku about autumn leaves."}), "hindsight.ask");
            assert.ok(!r.usedLogs.includes(firstLogId) && !r.usedLogs.includes(secondLogId), `usedLogs ${JSON.stringify(r.usedLogs)}`);
            assert.ok(r.logId != null);
            const forgotten = await command("hindsight.forgetLast");
            assert.equal(field(forgotten, "logId", "string"), r.logId, "forgetLast removes the last answer's log");
            assert.ok(!(await memory()).some((l) => l.id === r.logId), "the forgotten log is gone from listMemory");
        });

        it("exports and imports the memory (round trip)", async function () {
            const file = path.join(scratch, "memory.jsonl");
            const extra = asAskResult(await command("hindsight.ask", {request: "What does parse_line in inventory.py do with the price column?"}), "hindsight.ask");
            assert.ok(extra.logId != null);
            const before = await memory();
            const exported = field(await command("hindsight.exportMemory", {file}), "count", "number");
            assert.equal(exported, before.length, "every log is exported");
            assert.ok(fs.statSync(file).size > 0);
            const forgotten = field(await command("hindsight.forgetLast"), "logId", "string");
            assert.equal(forgotten, extra.logId);
            assert.equal((await memory()).length, before.length - 1);
            const imported = field(await command("hindsight.importMemory", {file}), "count", "number");
            assert.ok(imported >= 1, `importMemory counted ${imported}`);
            const after = await memory();
            assert.deepEqual(after.map((l) => l.id).sort(), before.map((l) => l.id).sort(), "the import restores the forgotten log");
            assert.ok(after.some((l) => l.id === forgotten));
        });

        it("re-encodes the memory for the current model", async function () {
            const r = await command("hindsight.reencodeMemory");
            const total = field(r, "total", "number");
            assert.equal(total, (await memory()).length);
            assert.ok(field(r, "encoded", "number") <= total);
        });
    });
}
