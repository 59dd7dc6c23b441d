import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import {JSDOM} from "jsdom";
import {parseToHost, toWebview, type ToHostMessage} from "../../src/shared/protocol.js";

const bundle = path.resolve("dist/webview/main.js");

/** The built chat webview in jsdom, with a typed fake host at its boundary (acquireVsCodeApi). */
class FakeHost {
    public readonly dom: JSDOM;
    public readonly received: ToHostMessage[] = [];
    public readonly invalid: unknown[] = [];
    private state: unknown;

    public constructor() {
        if (!fs.existsSync(bundle))
            throw new Error(`${bundle} is missing: run \`npm run build\` first.`);
        this.dom = new JSDOM(`<!DOCTYPE html><html><body><div id="root"></div></body></html>`, {runScripts: "outside-only", pretendToBeVisual: true});
        const win = this.dom.window as unknown as Record<string, unknown>;
        win.acquireVsCodeApi = () => ({
            postMessage: (data: unknown) => {
                const message = parseToHost(JSON.parse(JSON.stringify(data)));
                if (message == null)
                    this.invalid.push(data);
                else
                    this.received.push(message);
            },
            getState: () => this.state,
            setState: (state: unknown) => {
                this.state = state;
            }
        });
        this.dom.window.eval(fs.readFileSync(bundle, "utf8"));
    }

    public get document(): Document {
        return this.dom.window.document;
    }

    public $(selector: string): HTMLElement | null {
        return this.document.querySelector<HTMLElement>(selector);
    }

    public $$(selector: string): HTMLElement[] {
        return [...this.document.querySelectorAll<HTMLElement>(selector)];
    }

    public send(message: unknown): void {
        this.dom.window.dispatchEvent(new this.dom.window.MessageEvent("message", {data: message}));
    }

    public last(): ToHostMessage {
        return this.received.at(-1)!;
    }

    public key(target: HTMLElement, key: string, shiftKey = false): void {
        target.dispatchEvent(new this.dom.window.KeyboardEvent("keydown", {key, shiftKey, bubbles: true, cancelable: true}));
    }

    public click(selector: string): void {
        const node = this.$(selector);
        assert.ok(node != null, `${selector} exists`);
        node.click();
    }

    public close(): void {
        this.dom.window.close();
    }
}

const ready = (host: FakeHost) => host.send(toWebview("init", {history: [], status: {state: "idle"}, attachSelection: false, trusted: true}));

describe("chat webview (built bundle in jsdom)", () => {
    let host: FakeHost;
    beforeEach(() => {
        host = new FakeHost();
    });
    afterEach(() => host.close());

    it("says ready first, and builds the controls the UI tests use", () => {
        assert.deepEqual(host.received[0], {type: "ready", payload: {}});
        for (const selector of ["#prompt", "#send", "#stop", "#new-chat", "#messages", "#attach-selection"])
            assert.ok(host.$(selector) != null, selector);
        assert.equal((host.$("#stop") as HTMLButtonElement).hidden, true);
        assert.equal(host.$("#prompt")!.getAttribute("aria-label"), "Your request");
        assert.equal(host.invalid.length, 0);
    });

    it("shows the history sent with init", () => {
        host.send(toWebview("init", {history: [
            {id: "a", role: "user", text: "old question", done: true, logId: null, reused: []},
            {id: "a", role: "assistant", text: "old **answer**", done: true, logId: "L0", reused: [{logId: "P", task: "past"}]}
        ], status: {state: "ready", device: "cpu", model: "m.gguf"}, attachSelection: true, trusted: true}));
        assert.equal(host.$(".message.user")!.textContent, "old question");
        const answer = host.$(".message.assistant")!;
        assert.equal(answer.dataset.done, "true");
        assert.equal(answer.dataset.logId, "L0");
        assert.equal(answer.querySelector("strong")!.textContent, "answer");
        assert.equal((host.$("#attach-selection") as HTMLInputElement).checked, true);
        assert.match(host.$("#status")!.textContent!, /Ready on CPU/);
    });

    it("the attach box checked before the first init stays checked (that init predates the toggle); later inits set it", () => {
        const box = host.$("#attach-selection") as HTMLInputElement;
        box.click();
        assert.equal(box.checked, true);
        assert.deepEqual(host.last(), {type: "setAttachSelection", payload: {enabled: true}});
        ready(host);
        assert.equal(box.checked, true, "the first init, sent before the host saw the toggle, leaves it");
        (host.$("#prompt") as HTMLTextAreaElement).value = "question";
        host.click("#send");
        const ask = host.last();
        assert.ok(ask.type === "ask" && ask.payload.attachSelection === true, "the request carries the attachment");
        ready(host);
        assert.equal(box.checked, false, "a later init (the view shown again) is the host's state");
    });

    it("sends on Enter, not on Shift+Enter, streams the answer, and finishes it with chips, log id and thumbs", () => {
        ready(host);
        const prompt = host.$("#prompt") as HTMLTextAreaElement;
        prompt.value = "Why does parse fail?";
        host.key(prompt, "Enter", true);
        assert.equal(host.received.filter((m) => m.type === "ask").length, 0, "Shift+Enter does not send");
        host.key(prompt, "Enter");
        const ask = host.last();
        assert.equal(ask.type, "ask");
        if (ask.type !== "ask")
            return;
        assert.equal(ask.payload.text, "Why does parse fail?");
        const requestId = ask.payload.requestId;
        assert.equal(host.$(".message.user")!.textContent, "Why does parse fail?");
        assert.equal((host.$("#stop") as HTMLButtonElement).hidden, false, "stop is visible while streaming");

        host.send(toWebview("stream", {requestId, chunk: "It fails on ", done: false}));
        host.send(toWebview("stream", {requestId, chunk: "blank lines.\n\n```python\nif not line:\n    return None\n```\n", done: false}));
        const answer = host.$(".message.assistant")!;
        assert.match(answer.textContent!, /It fails on blank lines\./);
        assert.equal(answer.dataset.done, undefined);
        assert.equal(answer.querySelectorAll(".code-block .copy").length, 1);

        host.send(toWebview("stream", {requestId, chunk: "", done: true, logId: "LOG1",
            reused: [{logId: "P1", task: "parse_line crash"}, {logId: "P2", task: "empty input"}]}));
        assert.equal(answer.dataset.done, "true");
        assert.equal(answer.dataset.logId, "LOG1");
        assert.equal((host.$("#stop") as HTMLButtonElement).hidden, true);
        assert.deepEqual(host.$$(".reuse-chip").map((c) => c.dataset.logId), ["P1", "P2"]);
        assert.match(answer.querySelector(".reuse")!.textContent!, /reused 2 past sessions/);
        assert.ok(answer.querySelector(".thumb-up") != null && answer.querySelector(".thumb-down") != null);
    });

    it("code block buttons post copy, insert and apply with the block's code and the log id", () => {
        ready(host);
        host.send(toWebview("started", {requestId: "r", text: "q"}));
        host.send(toWebview("stream", {requestId: "r", chunk: "```js\nconst x = 1 < 2;\n```", done: true, logId: "L"}));
        host.click(".message.assistant .copy");
        assert.deepEqual(host.last(), {type: "copy", payload: {code: "const x = 1 < 2;"}});
        host.click(".message.assistant .insert");
        assert.deepEqual(host.last(), {type: "insert", payload: {code: "const x = 1 < 2;", logId: "L"}});
        host.click(".message.assistant .apply");
        assert.deepEqual(host.last(), {type: "apply", payload: {code: "const x = 1 < 2;", logId: "L"}});
    });

    it("a chip opens the session detail, and forget posts the right message and removes the chip", () => {
        ready(host);
        host.send(toWebview("started", {requestId: "r", text: "q"}));
        host.send(toWebview("stream", {requestId: "r", chunk: "answer", done: true, logId: "L", reused: [{logId: "P1", task: "past task"}]}));
        host.click(".reuse-chip[data-log-id='P1']");
        assert.deepEqual(host.last(), {type: "openSession", payload: {logId: "P1"}});
        host.send(toWebview("sessionDetail", {logId: "P1", task: "past task", reasoning: "I looked at parse.py.",
            createdAt: "2026-11-27T10:00:00.000Z", outcome: "accepted", pinned: false}));
        const detail = host.$(".session-detail")!;
        assert.equal(detail.hidden, false);
        assert.match(detail.textContent!, /past task/);
        assert.match(detail.textContent!, /I looked at parse\.py\./);
        assert.match(detail.textContent!, /accepted/);
        host.click(".session-detail .forget");
        assert.deepEqual(host.last(), {type: "forget", payload: {logId: "P1"}});
        host.send(toWebview("forgotten", {logId: "P1"}));
        assert.equal(host.$$(".reuse-chip").length, 0);
        assert.equal(host.$(".reuse"), null, "no chips left: the reuse line goes too");
        assert.equal(detail.hidden, true);
    });

    it("a stale chip says \"files changed since\" and names the files; its session panel lists them, changed and deleted first", () => {
        ready(host);
        host.send(toWebview("started", {requestId: "r", text: "q"}));
        host.send(toWebview("stream", {requestId: "r", chunk: "answer", done: true, logId: "L", reused: [
            {logId: "P1", task: "fresh task"},
            {logId: "P2", task: "why does parse_line fail", stale: {changed: ["src/a.ts"], deleted: ["old.ts"]}}
        ]}));
        const [fresh, stale] = host.$$(".reuse-chip");
        assert.equal(fresh!.textContent, "fresh task");
        assert.ok(!fresh!.classList.contains("stale"));
        assert.equal(stale!.textContent, "why does parse_line fail" + "files changed since");
        assert.ok(stale!.classList.contains("stale"));
        assert.match(stale!.title, /Files changed since: src\/a\.ts, old\.ts \(deleted\)/);
        assert.match(stale!.getAttribute("aria-label")!, /files changed since: src\/a\.ts, old\.ts \(deleted\)/);

        stale!.click();
        host.send(toWebview("sessionDetail", {logId: "P2", task: "why does parse_line fail", reasoning: "r", createdAt: "2026-11-27T10:00:00.000Z",
            outcome: "unknown", pinned: false, files: [{path: "b.ts", state: "unchanged"}, {path: "src/a.ts", state: "changed"}, {path: "old.ts", state: "deleted"}]}));
        const files = host.$(".session-detail .detail-files")!;
        assert.match(files.textContent!, /Files changed since: 2 of 3 this session read/);
        assert.deepEqual([...files.querySelectorAll("li")].map((li) => li.textContent), ["src/a.ts · changed since", "old.ts · deleted since", "b.ts · unchanged"]);

        host.send(toWebview("sessionDetail", {logId: "P1", task: "fresh task", reasoning: "r", createdAt: "2026-11-27T10:00:00.000Z",
            outcome: "unknown", pinned: false}));
        assert.equal(host.$(".session-detail .detail-files"), null, "a session without files (or not checked) has no list");
    });

    it("the chip of the session the answer leaned on most stands out with its share of lines; none below 20 %", () => {
        ready(host);
        host.send(toWebview("started", {requestId: "r", text: "q"}));
        host.send(toWebview("stream", {requestId: "r", chunk: "answer", done: true, logId: "L", reused: [
            {logId: "P1", task: "sum a list", reliance: 0.3},
            {logId: "P2", task: "sum a list of floats", reliance: 0.92},
            {logId: "P3", task: "parse a list", reliance: 0}
        ]}));
        const chips = host.$$(".reuse-chip");
        assert.deepEqual(chips.map((c) => c.classList.contains("leaned")), [false, true, false]);
        assert.equal(chips[1]!.textContent, "sum a list of floats" + "92 % same lines");
        assert.match(chips[1]!.title, /Leaned on most: 92 % of this answer's lines are in this session/);
        assert.match(chips[1]!.getAttribute("aria-label")!, /leaned on most: 92 %/);

        host.send(toWebview("started", {requestId: "r2", text: "q2"}));
        host.send(toWebview("stream", {requestId: "r2", chunk: "other", done: true, logId: "L2", reused: [{logId: "P1", task: "sum a list", reliance: 0.1}]}));
        assert.equal(host.$$(".reuse-chip.leaned").length, 1, "a share under 20 % marks nothing");
    });

    it("the session panel: header with task, date, outcome, Forget and Close above the scrolling reasoning; focus moves in; Escape closes it", () => {
        ready(host);
        host.send(toWebview("started", {requestId: "r", text: "q"}));
        host.send(toWebview("stream", {requestId: "r", chunk: "answer", done: true, logId: "L", reused: [{logId: "P1", task: "past task"}]}));
        const chip = host.$(".reuse-chip[data-log-id='P1']")!;
        chip.focus();
        chip.click();
        host.send(toWebview("sessionDetail", {logId: "P1", task: "past task", reasoning: "line\n".repeat(200),
            createdAt: "2026-11-27T10:00:00.000Z", outcome: "rejected", pinned: true}));
        const detail = host.$(".session-detail")!;
        const head = detail.querySelector(".detail-head")!;
        for (const selector of [".task", ".date", ".outcome", ".forget", ".close"])
            assert.ok(head.querySelector(selector) != null, `${selector} is in the header`);
        assert.match(head.querySelector(".outcome")!.textContent!, /rejected · pinned/);
        assert.equal(head.querySelector(".forget")!.getAttribute("aria-label"), "Forget this session");
        const body = detail.querySelector(".detail-body")!;
        assert.ok(body.querySelector(".reasoning") != null && head.compareDocumentPosition(body) & host.dom.window.Node.DOCUMENT_POSITION_FOLLOWING,
            "the reasoning comes after the header, in its own area");
        assert.equal(detail.getAttribute("aria-labelledby"), head.querySelector(".task")!.id);
        assert.equal(host.document.activeElement, detail, "focus moved into the panel");
        assert.ok(host.document.body.classList.contains("detail-open"));
        host.key(body as HTMLElement, "Escape");
        assert.equal(detail.hidden, true);
        assert.equal(host.document.activeElement, chip, "focus went back to the chip");
        assert.ok(!host.document.body.classList.contains("detail-open"));
        assert.notEqual(host.last().type, "abort", "Escape in the panel only closed it");

        // Close, and a forgotten session whose chip is gone: focus goes to the prompt
        chip.click();
        host.send(toWebview("sessionDetail", {logId: "P1", task: "past task", reasoning: "r", createdAt: "2026-11-27T10:00:00.000Z",
            outcome: "unknown", pinned: false}));
        host.click(".session-detail .close");
        assert.equal(detail.hidden, true);
        assert.equal(host.document.activeElement, chip);
        chip.click();
        host.send(toWebview("sessionDetail", {logId: "P1", task: "past task", reasoning: "r", createdAt: "2026-11-27T10:00:00.000Z",
            outcome: "unknown", pinned: false}));
        host.click(".session-detail .forget");
        host.send(toWebview("forgotten", {logId: "P1"}));
        assert.equal(detail.hidden, true);
        assert.equal(host.document.activeElement, host.$("#prompt"));
    });

    it("an empty chat shows a welcome in #messages that the first message replaces, and that comes back on a new chat", () => {
        ready(host);
        const welcome = host.$("#messages .welcome");
        assert.ok(welcome != null, "the welcome is shown");
        assert.match(welcome.textContent!, /past sessions of this workspace/);
        assert.match(welcome.textContent!, /Attach current file\/selection/);
        const examples = host.$$("#messages .welcome .example");
        assert.ok(examples.length >= 2, "example questions");
        examples[0]!.click();
        assert.equal((host.$("#prompt") as HTMLTextAreaElement).value, examples[0]!.textContent);
        assert.equal(host.document.activeElement, host.$("#prompt"));
        assert.equal(host.received.filter((m) => m.type === "ask").length, 0, "an example is not sent by itself");
        host.click("#send");
        assert.equal(host.$("#messages .welcome"), null, "the first message removes it");
        host.send(toWebview("cleared", {}));
        assert.ok(host.$("#messages .welcome") != null);
        host.send(toWebview("init", {history: [{id: "h", role: "user", text: "old", done: true, logId: null, reused: []}], status: {state: "idle"}, attachSelection: false, trusted: true}));
        assert.equal(host.$("#messages .welcome"), null, "history replaces it");
    });

    it("thumbs post the outcome and show the one the host confirms", () => {
        ready(host);
        host.send(toWebview("started", {requestId: "r", text: "q"}));
        host.send(toWebview("stream", {requestId: "r", chunk: "a", done: true, logId: "L"}));
        host.click(".thumb-up");
        assert.deepEqual(host.last(), {type: "mark", payload: {logId: "L", outcome: "accepted"}});
        host.click(".thumb-down");
        assert.deepEqual(host.last(), {type: "mark", payload: {logId: "L", outcome: "rejected"}});
        host.send(toWebview("outcome", {logId: "L", outcome: "rejected"}));
        assert.equal(host.$(".thumb-down")!.getAttribute("aria-pressed"), "true");
        assert.equal(host.$(".thumb-up")!.getAttribute("aria-pressed"), "false");
    });

    it("Escape and the stop button abort the answer being written; new chat clears", () => {
        ready(host);
        const prompt = host.$("#prompt") as HTMLTextAreaElement;
        prompt.value = "long task";
        host.click("#send");
        const ask = host.last();
        assert.equal(ask.type, "ask");
        host.key(prompt, "Escape");
        assert.equal(host.last().type, "abort");
        host.click("#stop");
        assert.equal(host.last().type, "abort");
        host.click("#new-chat");
        assert.deepEqual(host.last(), {type: "newChat", payload: {}});
        host.send(toWebview("cleared", {}));
        assert.equal(host.$$(".message").length, 0);
    });

    it("ignores invalid messages and never renders model HTML", () => {
        ready(host);
        const before = host.$("#messages")!.innerHTML;
        host.send({type: "stream", payload: {requestId: "x", chunk: "boo"}});
        host.send({type: "evil", payload: {}});
        host.send("stream");
        host.send({type: "stream", payload: {requestId: "x", chunk: "boo", done: false}, extra: true});
        assert.equal(host.$("#messages")!.innerHTML, before);
        assert.equal(host.document.body.dataset.ignoredMessages, "4");

        host.send(toWebview("started", {requestId: "h", text: "<b>user html</b>"}));
        host.send(toWebview("stream", {requestId: "h", chunk: "<img src=x onerror=alert(1)><script>alert(2)</script>[x](javascript:alert(3))", done: true}));
        assert.equal(host.$(".message.user b"), null);
        assert.equal(host.$(".message.assistant img"), null);
        assert.equal(host.$(".message.assistant script"), null);
        assert.equal(host.$(".message.assistant a"), null);
        assert.match(host.$(".message.assistant")!.textContent!, /<img src=x/);
    });

    it("an answer that ends in an error shows it and is done", () => {
        ready(host);
        host.send(toWebview("started", {requestId: "e", text: "q"}));
        host.send(toWebview("stream", {requestId: "e", chunk: "", done: true, error: "Hindsight has no model yet."}));
        const answer = host.$(".message.assistant")!;
        assert.equal(answer.dataset.done, "true");
        assert.equal(answer.querySelector("[role=alert]")!.textContent, "Hindsight has no model yet.");
        assert.equal(answer.dataset.logId, undefined);
    });
});
