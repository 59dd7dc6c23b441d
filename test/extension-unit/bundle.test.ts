import assert from "node:assert/strict";
import fs from "node:fs";
import {createRequire} from "node:module";
import os from "node:os";
import path from "node:path";
import type {HindsightApi} from "../../src/extension/extension.js";
import {realTestModel} from "../support/realModel.js";
import {createFakeVscode, fakeContext, FakeDocument, FakeWebviewView, type FakeVscode} from "./support/fakeVscode.js";

const root = path.resolve(".");
const bundle = path.join(root, "dist", "extension.cjs");

/** The contract ids the e2e suite relies on (see the extension README). */
const contractCommands = ["hindsight.ask", "hindsight.askSelection", "hindsight.explain", "hindsight.fix", "hindsight.writeTests",
    "hindsight.newChat", "hindsight.selectModel", "hindsight.downloadModel", "hindsight.showMemory", "hindsight.forgetLast",
    "hindsight.markGood", "hindsight.markBad", "hindsight.exportMemory", "hindsight.importMemory", "hindsight.reencodeMemory",
    "hindsight.openSettings", "hindsight.listMemory", "hindsight.status"];

interface Loaded {
    fake: FakeVscode;
    api: HindsightApi;
    context: Record<string, unknown>;
    extension: {deactivate(): Promise<void>};
    tmp: string;
    uninstall(): void;
}

function activate(settings: Record<string, unknown> = {}, trusted = true): Loaded {
    if (!fs.existsSync(bundle))
        throw new Error(`${bundle} is missing: run \`npm run build\` first.`);
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "hindsight-ext-"));
    const workspace = path.join(tmp, "ws");
    fs.mkdirSync(workspace);
    fs.writeFileSync(path.join(workspace, "parse.py"), "def parse_line(line):\n    return line.split(',')\n");
    const fake = createFakeVscode({packageJson: path.join(root, "package.json"), workspaceFolder: workspace, trusted});
    for (const [key, value] of Object.entries(settings))
        fake.settings.set(key, value);
    const uninstall = fake.install();
    const require = createRequire(import.meta.url);
    delete require.cache[bundle];
    const extension = require(bundle) as {activate(context: unknown): HindsightApi, deactivate(): Promise<void>};
    const context = fakeContext(fake, root, path.join(tmp, "global-storage"));
    const api = extension.activate(context);
    return {fake, api, context, extension, tmp, uninstall};
}

async function shutdown(loaded: Loaded): Promise<void> {
    for (const d of loaded.context.subscriptions as {dispose(): unknown}[])
        await d.dispose();
    await loaded.extension.deactivate();
    loaded.uninstall();
    fs.rmSync(loaded.tmp, {recursive: true, force: true});
}

describe("extension bundle in plain Node (fake vscode module at the boundary)", () => {
    it("activates fast, registers every contract command, the views and the inline provider, and loads no model", async () => {
        const started = Date.now();
        const loaded = activate();
        try {
            const ms = Date.now() - started;
            assert.ok(ms < 2000, `activation took ${ms} ms`);
            for (const id of contractCommands)
                assert.ok(loaded.fake.commands.has(id), id);
            assert.ok(loaded.fake.webviewProviders.has("hindsight.chat"));
            assert.equal(loaded.fake.inlineProviders.length, 1);
            assert.match(loaded.fake.statusItems[0]!.text, /^Hindsight/);
            assert.deepEqual(await loaded.fake.commands.get("hindsight.status")!({}), {state: "idle"});
            // every command the manifest lists is registered, and the other way round
            const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as {contributes: {commands: {command: string}[]}};
            assert.deepEqual(pkg.contributes.commands.map((c) => c.command).sort(), [...loaded.fake.commands.keys()].sort());
        } finally {
            await shutdown(loaded);
        }
    });

    it("serves the chat page under a nonce CSP, answers ready with init, and ignores invalid messages", async () => {
        const loaded = activate();
        try {
            const view = new FakeWebviewView();
            const provider = loaded.fake.webviewProviders.get("hindsight.chat") as {resolveWebviewView(view: unknown): void};
            provider.resolveWebviewView(view);
            const html = view.webview.html;
            const nonce = /script-src 'nonce-([^']+)'/.exec(html)?.[1];
            assert.ok(nonce != null && nonce.length >= 16, "a nonce in the CSP");
            assert.match(html, /default-src 'none'/);
            assert.equal([...html.matchAll(/<script\b[^>]*>/g)].length, 1, "one script tag");
            assert.match(html, new RegExp(`<script nonce="${nonce.replace(/[+/=]/g, (c) => `\\${c}`)}" src="https://fake\\.webview[^"]+/dist/webview/main\\.js"></script>`));
            assert.ok(!/<script[^>]*>[^<]/.test(html), "no inline script");
            assert.deepEqual(view.webview.options.localResourceRoots!.map((u) => u.fsPath), [path.join(root, "dist", "webview")]);
            assert.equal(view.posted.length, 0, "nothing is sent before the page says ready");

            view.fromPage({type: "ready", payload: {}});
            const init = await view.waitFor((m) => m.type === "init");
            assert.deepEqual(init.payload.history, []);
            assert.deepEqual(init.payload.status, {state: "idle"});

            view.fromPage({type: "forget", payload: {logId: 42}});
            view.fromPage({type: "runCommand", payload: {id: "workbench.action.quit"}});
            await new Promise((r) => setTimeout(r, 50));
            assert.equal(view.posted.length, 1, "invalid messages get no answer");
            assert.equal(loaded.fake.messages.filter((m) => m.includes("Ignored an invalid message")).length, 2);
        } finally {
            await shutdown(loaded);
        }
    });

    it("a missing model is one clear MODEL_NOT_FOUND error, and the status says so", async () => {
        const previous = process.env.HINDSIGHT_MODEL;
        const models = process.env.HINDSIGHT_MODELS_DIR;
        delete process.env.HINDSIGHT_MODEL;
        const loaded = activate();
        process.env.HINDSIGHT_MODELS_DIR = path.join(loaded.tmp, "no-models");
        try {
            await assert.rejects(loaded.api.whenReady(), (err: Error & {code?: string}) => err.code === "MODEL_NOT_FOUND" && /Download/.test(err.message));
            assert.equal(loaded.api.status().state, "error");
            await assert.rejects(Promise.resolve(loaded.fake.commands.get("hindsight.ask")!({request: "hi"})), (err: {code?: string}) => err.code === "MODEL_NOT_FOUND");
            await assert.rejects(Promise.resolve(loaded.fake.commands.get("hindsight.ask")!({request: 5})), (err: {code?: string}) => err.code === "INVALID_ARGUMENT");
        } finally {
            if (previous != null)
                process.env.HINDSIGHT_MODEL = previous;
            if (models == null)
                delete process.env.HINDSIGHT_MODELS_DIR;
            else
                process.env.HINDSIGHT_MODELS_DIR = models;
            await shutdown(loaded);
        }
    });

    it("Import Memory drops the file's KV unless the user trusts the file, asking in a modal", async () => {
        const loaded = activate();
        try {
            const {LogStore} = await import("../../src/engine/store/index.js");
            const file = path.join(loaded.tmp, "shared.jsonl");
            {
                await using source = await LogStore.open(path.join(loaded.tmp, "source"));
                for (const id of ["one", "two"])
                    await source.addLog({id, workspace: "w", task: `task ${id}`, lastResponse: "r", logText: "r", nTokens: 2},
                        {kv: [{fingerprint: "fp", nTokens: 2, tokens: [1, 2], data: new Uint8Array([1, 2, 3])}]});
                await source.exportTo(file);
            }
            const run = (arg?: unknown) => Promise.resolve(loaded.fake.commands.get("hindsight.importMemory")!(arg));
            const window = loaded.fake.module.window as Record<string, unknown>;
            window.showOpenDialog = async () => [loaded.fake.Uri.file(file)];
            const asked: unknown[][] = [];
            let answer: string | undefined;
            window.showWarningMessage = async (...args: unknown[]) => {
                asked.push(args);
                return answer;
            };

            answer = undefined;
            assert.equal(await run(), undefined, "cancelling the question imports nothing");
            assert.equal((asked[0]![1] as {modal: boolean}).modal, true);
            assert.deepEqual(asked[0]!.slice(2), ["Re-encode from Text", "Keep KV (I Trust This File)"], "the safe choice first");
            assert.deepEqual(await loaded.fake.commands.get("hindsight.listMemory")!({}), []);

            answer = "Re-encode from Text";
            await run();
            assert.match(loaded.fake.messages.at(-1)!, /imported 2 past sessions\. Their KV caches were dropped/);
            const store = await LogStore.open(path.join(loaded.tmp, "global-storage", "store"), {readOnly: true});
            try {
                assert.deepEqual(await store.kvInfo("one"), []);
            } finally {
                store.close();
            }
            assert.deepEqual(await run({file}), {count: 0, file, kv: "dropped", kvKept: 0, kvDropped: 0}, "a caller naming the file is not asked");
            assert.equal(asked.length, 2);

            await run({file: path.join(loaded.tmp, "missing.jsonl")}).then(() => assert.fail("a missing file is an error"), (err: {code?: string}) =>
                assert.equal(err.code, "INVALID_ARGUMENT"));
            // Each import refreshes the memory size in the background; let it finish before the store is closed.
            for (let i = 0; i < 100 && loaded.api.status().memorySize !== 2; i++)
                await new Promise((resolve) => setTimeout(resolve, 20));
            await new Promise((resolve) => setTimeout(resolve, 100));
        } finally {
            await shutdown(loaded);
        }
    });

    it("insert at cursor and apply to file mark the answer's log accepted; a rejected log stays rejected", async () => {
        const loaded = activate();
        try {
            const {LogStore} = await import("../../src/engine/store/index.js");
            const file = path.join(loaded.tmp, "answers.jsonl");
            {
                await using source = await LogStore.open(path.join(loaded.tmp, "source"));
                for (const id of ["good", "bad", "applied"])
                    await source.addLog({id, workspace: "w", task: `task ${id}`, lastResponse: "r", logText: "r", nTokens: 2});
                await source.exportTo(file);
            }
            const run = (id: string, arg?: unknown) => Promise.resolve(loaded.fake.commands.get(id)!(arg));
            await run("hindsight.importMemory", {file});
            await run("hindsight.markBad", {logId: "bad"});

            const doc = new FakeDocument(loaded.fake.Uri.file(path.join(loaded.tmp, "ws", "parse.py")), "python", "x = 1\n");
            let edits = 0;
            const editor = {
                document: doc, selection: new loaded.fake.Range(new loaded.fake.Position(1, 0), new loaded.fake.Position(1, 0)),
                edit: async (change: (builder: {replace(range: unknown, text: string): void}) => void) => {
                    change({replace: (_range, text) => {
                        doc.text += text;
                    }});
                    edits++;
                    return true;
                }
            };
            const window = loaded.fake.module.window as Record<string, unknown>;
            const workspace = loaded.fake.module.workspace as Record<string, unknown>;
            window.activeTextEditor = editor;
            window.showInformationMessage = async () => "Apply";
            workspace.applyEdit = async () => {
                edits++;
                return true;
            };
            const view = new FakeWebviewView();
            (loaded.fake.webviewProviders.get("hindsight.chat") as {resolveWebviewView(view: unknown): void}).resolveWebviewView(view);
            view.fromPage({type: "ready", payload: {}});
            await view.waitFor((m) => m.type === "init");

            view.fromPage({type: "insert", payload: {code: "y = 2\n", logId: "good"}});
            await view.waitFor((m) => m.type === "outcome" && m.payload.logId === "good" && m.payload.outcome === "accepted", 10_000);
            assert.equal(doc.text, "x = 1\ny = 2\n");
            view.fromPage({type: "apply", payload: {code: "z = 3\n", logId: "applied"}});
            await view.waitFor((m) => m.type === "outcome" && m.payload.logId === "applied" && m.payload.outcome === "accepted", 10_000);

            view.fromPage({type: "insert", payload: {code: "w = 4\n", logId: "bad"}});
            view.fromPage({type: "apply", payload: {code: "v = 5\n", logId: "bad"}});
            for (let i = 0; i < 200 && edits < 4; i++)
                await new Promise((resolve) => setTimeout(resolve, 10));
            assert.equal(edits, 4, "both edits were made");
            await new Promise((resolve) => setTimeout(resolve, 300));
            assert.ok(!view.posted.some((m) => (m as {type: string, payload: {logId?: string, outcome?: string}}).type === "outcome" &&
                (m as {payload: {logId: string, outcome: string}}).payload.logId === "bad" &&
                (m as {payload: {outcome: string}}).payload.outcome === "accepted"), "the thumbs-down wins");
            const store = await LogStore.open(path.join(loaded.tmp, "global-storage", "store"), {readOnly: true});
            try {
                assert.deepEqual(await Promise.all(["good", "bad", "applied"].map(async (id) => (await store.getLog(id))?.outcome)),
                    ["accepted", "rejected", "accepted"]);
            } finally {
                store.close();
            }
            for (let i = 0; i < 100 && loaded.api.status().memorySize !== 3; i++)
                await new Promise((resolve) => setTimeout(resolve, 20));
        } finally {
            await shutdown(loaded);
        }
    });

    it("@model the chat is a conversation: a follow-up's log names the previous request; New Chat starts over (SmolLM2)", async function () {
        this.timeout(300_000);
        const loaded = activate({"hindsight.modelPath": await realTestModel(), "hindsight.maxTokens": 24, "hindsight.maxRounds": 1});
        const run = (id: string, arg: unknown = {}) => Promise.resolve(loaded.fake.commands.get(id)!(arg));
        try {
            await loaded.api.whenReady();
            const first = "Write a Python function add(a, b).";
            await run("hindsight.ask", {request: first});
            const second = await run("hindsight.ask", {request: "Now rename it to plus."}) as {logId: string};
            await run("hindsight.newChat");
            const third = await run("hindsight.ask", {request: "What is a list comprehension?"}) as {logId: string};
            const tasks = new Map((await run("hindsight.listMemory") as {id: string, task: string}[]).map((l) => [l.id, l.task]));
            assert.equal(tasks.get(second.logId), `(after "${first}") Now rename it to plus.`);
            assert.equal(tasks.get(third.logId), "What is a list comprehension?", "a new chat has no earlier turns");
        } finally {
            await shutdown(loaded);
        }
    });

    it("@model asks, remembers, reuses, marks, exports, forgets and suggests inline through the bundle (SmolLM2)", async function () {
        this.timeout(600_000);
        const modelPath = await realTestModel();
        const loaded = activate({"hindsight.modelPath": modelPath, "hindsight.maxTokens": 48, "hindsight.maxRounds": 2, "hindsight.inline.delayMs": 0});
        const run = (id: string, arg: unknown = {}) => Promise.resolve(loaded.fake.commands.get(id)!(arg));
        try {
            await loaded.api.whenReady();
            const status = await run("hindsight.status") as {state: string, device: string};
            assert.equal(status.state, "ready");
            assert.ok(status.device.length > 0);

            const first = await run("hindsight.ask", {request: "What does parse_line return for an empty line?"}) as {answer: string, usedLogs: string[], logId: string};
            assert.equal(typeof first.answer, "string");
            assert.ok(first.logId != null, "the task was logged");
            // a new chat: within one conversation the first answer is in the prompt and its session is not retrieved
            await run("hindsight.newChat");
            const second = await run("hindsight.ask", {request: "What does parse_line return for an empty line?", mode: "kv"}) as {usedLogs: string[], logId: string};
            assert.ok(second.usedLogs.includes(first.logId), "the second ask reused the first session");

            // the same through the chat page's protocol: started/streamed/finished with the reuse chip, then thumbs
            const view = new FakeWebviewView();
            (loaded.fake.webviewProviders.get("hindsight.chat") as {resolveWebviewView(view: unknown): void}).resolveWebviewView(view);
            view.fromPage({type: "ready", payload: {}});
            const init = await view.waitFor((m) => m.type === "init");
            assert.equal((init.payload.history as unknown[]).length, 2, "the answer since New Chat is in the history");
            view.fromPage({type: "ask", payload: {requestId: "page-1", text: "What does parse_line return for an empty line?", attachSelection: false}});
            const done = await view.waitFor((m) => m.type === "stream" && m.payload.requestId === "page-1" && m.payload.done === true);
            assert.ok(view.posted.some((m) => (m as {type: string, payload: {done?: boolean, chunk?: string}}).type === "stream" &&
                (m as {payload: {done: boolean}}).payload.done === false), "chunks streamed before the end");
            assert.equal(typeof done.payload.logId, "string");
            assert.ok((done.payload.reused as {logId: string}[]).some((r) => r.logId === first.logId), "the chip names the first session");
            const pageLog = done.payload.logId as string;
            view.fromPage({type: "mark", payload: {logId: pageLog, outcome: "accepted"}});
            await view.waitFor((m) => m.type === "outcome" && m.payload.logId === pageLog && m.payload.outcome === "accepted");
            view.fromPage({type: "openSession", payload: {logId: first.logId}});
            const detail = await view.waitFor((m) => m.type === "sessionDetail");
            assert.equal(detail.payload.task, "What does parse_line return for an empty line?");
            view.fromPage({type: "forget", payload: {logId: pageLog}});
            await view.waitFor((m) => m.type === "forgotten" && m.payload.logId === pageLog);

            const list = await run("hindsight.listMemory") as {id: string, task: string, outcome: string, nTokens: number, pinned: boolean}[];
            assert.deepEqual(list.map((l) => l.id).sort(), [first.logId, second.logId].sort());
            assert.ok(list.every((l) => l.nTokens > 0 && l.pinned === false));

            assert.deepEqual(await run("hindsight.markGood", {logId: first.logId}), {logId: first.logId, outcome: "accepted"});
            assert.deepEqual(await run("hindsight.markBad"), {logId: second.logId, outcome: "rejected"});
            const marked = await run("hindsight.listMemory") as {id: string, outcome: string}[];
            assert.equal(marked.find((l) => l.id === first.logId)!.outcome, "accepted");

            const file = path.join(loaded.tmp, "memory.jsonl");
            assert.deepEqual(await run("hindsight.exportMemory", {file}), {count: 2, file});
            assert.deepEqual(await run("hindsight.forgetLast"), {logId: second.logId});
            assert.equal((await run("hindsight.listMemory") as unknown[]).length, 1);
            const imported = await run("hindsight.importMemory", {file}) as {count: number, file: string, kv: string, kvKept: number, kvDropped: number};
            assert.deepEqual({...imported, kvDropped: 0}, {count: 1, file, kv: "dropped", kvKept: 0, kvDropped: 0}, "KV is dropped unless trusted");
            assert.ok(imported.kvDropped >= 1);
            assert.equal((await run("hindsight.listMemory") as unknown[]).length, 2);

            // two different places in a row: the inline context's one sequence is reused, and each gets a suggestion
            const token = {isCancellationRequested: false, onCancellationRequested: () => ({dispose() {}})};
            for (const text of ["def add(a, b):\n    return ", "def average_price(lines):\n    "]) {
                const doc = new FakeDocument(loaded.fake.Uri.file(path.join(loaded.tmp, "ws", "a.py")), "python", text);
                const items = await loaded.fake.inlineProviders[0]!.provideInlineCompletionItems(doc, doc.positionAt(text.length), {}, token);
                assert.equal(items.length, 1, `a suggestion after ${JSON.stringify(text)} (log: ${loaded.fake.messages.filter((m) => m.includes("inline")).join("; ")})`);
                assert.ok(items[0]!.insertText.trim().length > 0);
                if (text.endsWith("return "))
                    assert.ok(!items[0]!.insertText.includes("\n"), "a mid-line suggestion is one line");
            }

            // inline.useMemory: a related past session's KV is stacked in front of the inline prompt
            loaded.fake.settings.set("hindsight.inline.useMemory", true);
            const text = "# parse_line: what does it return for an empty line?\ndef parse_line(line):\n    return ";
            const doc = new FakeDocument(loaded.fake.Uri.file(path.join(loaded.tmp, "ws", "b.py")), "python", text);
            const seeded = await loaded.fake.inlineProviders[0]!.provideInlineCompletionItems(doc, doc.positionAt(text.length), {}, token);
            const seedLines = loaded.fake.messages.filter((m) => m.includes("[inline] seeded with past session"));
            assert.equal(seedLines.length, 1, loaded.fake.messages.filter((m) => m.includes("inline")).join("; "));
            assert.match(seedLines[0]!, new RegExp(first.logId));
            assert.equal(seeded.length, 1, "a suggestion with the seed in front");
        } finally {
            await shutdown(loaded);
        }
    });
});
