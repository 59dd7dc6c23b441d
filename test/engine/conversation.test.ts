import assert from "node:assert/strict";
import {systemPrompt} from "../../src/engine/agent/react.js";
import {Generator, type ChatTurn} from "../../src/engine/generation/Generator.js";
import {ModelRuntime} from "../../src/engine/runtime/ModelRuntime.js";
import {dropOldestExchange, fitPrompt, standaloneTask, type ConversationTurn} from "../../src/engine/session/conversation.js";
import {realTestModel} from "../support/realModel.js";
import {engineFixture, loadTinyExactModel} from "../support/engineFixture.js";

const u = (text: string): ConversationTurn => ({role: "user", text});
const a = (text: string): ConversationTurn => ({role: "assistant", text});

describe("conversation: the budget and the log task (model-free)", function () {
    it("dropOldestExchange drops a user turn with its answer, and a leading answer alone", function () {
        assert.deepEqual(dropOldestExchange([u("1"), a("1a"), u("2"), a("2a")]), [u("2"), a("2a")]);
        assert.deepEqual(dropOldestExchange([a("0a"), u("1"), a("1a")]), [u("1"), a("1a")]);
        assert.deepEqual(dropOldestExchange([u("1"), u("2"), a("2a")]), [u("2"), a("2a")]);
        assert.deepEqual(dropOldestExchange([]), []);
    });

    it("fitPrompt drops the oldest exchanges first, then the last logs, and stops when nothing is left", async function () {
        const seen: string[] = [];
        const size = (c: readonly ConversationTurn[], l: readonly string[]) => c.length + l.length;
        const build = (limit: number) => async (c: readonly ConversationTurn[], l: readonly string[]) => {
            seen.push(`${c.map((t) => t.text).join(",")}|${l.join(",")}`);
            return {fits: size(c, l) <= limit, value: size(c, l)};
        };
        const conversation = [u("1"), a("1a"), u("2"), a("2a")];
        const got = await fitPrompt(conversation, ["x", "y", "z"], build(2));
        assert.deepEqual(seen, ["1,1a,2,2a|x,y,z", "2,2a|x,y,z", "|x,y,z", "|x,y"]);
        assert.deepEqual(got, {conversation: [], logs: ["x", "y"], value: 2});

        seen.length = 0;
        const none = await fitPrompt(conversation, ["x"], build(-1));
        assert.deepEqual(none.value, 0, "the request alone is returned even when it does not fit");
        assert.equal(seen.length, 4);
    });

    it("standaloneTask puts the previous user request, shortened, in front of a follow-up", function () {
        assert.equal(standaloneTask("now make it async", undefined), "now make it async");
        assert.equal(standaloneTask("now make it async", []), "now make it async");
        assert.equal(standaloneTask("now make it async", [u("write  a\nfetch helper"), a("function fetchIt() {}")]),
            "(after \"write a fetch helper\") now make it async");
        const long = standaloneTask("why?", [u("x".repeat(500)), a("y")]);
        assert.ok(long.length < 200 && long.endsWith("…\") why?"), long);
    });
});

describe("conversation: earlier turns in the prompt, on a tiny random-weight model", function () {
    this.timeout(180_000);
    const workspace = "ws";
    const request = "Now make it async.";
    const continuation = "async function load() {}";
    const conversation = [u("Write a loader for config.json."), a("function load() { return readFileSync('config.json'); }"),
        u("Add error handling."), a("function load() { try { return readFileSync('config.json'); } catch { return null; } }")];
    const contextSize = 512;

    const f = engineFixture("hs-conv-", () => loadTinyExactModel({contextSize}));

    /** The prompt `ask` renders (mode none) for these earlier turns, as tokens and as text. */
    async function rendered(turns: readonly ConversationTurn[]) {
        const context = await f.runtime.createContext({sequences: 1, contextSize});
        try {
            const generator = new Generator(f.runtime, context.getSequence());
            const chat: ChatTurn[] = [{role: "system", text: systemPrompt({tools: [], notes: ""})}, ...turns, {role: "user", text: request}];
            const tokens = generator.renderChat(chat);
            return {tokens: tokens.length, text: f.runtime.model.detokenize(tokens)};
        } finally {
            await context.dispose();
        }
    }

    it("the prompt holds the earlier turns in order, between the system prompt and the request", async function () {
        const {tokens, text} = await rendered(conversation);
        const at = [systemPrompt({tools: [], notes: ""}).slice(0, 30), ...conversation.map((t) => t.text), request].map((s) => text.indexOf(s));
        assert.ok(at.every((i) => i >= 0), `every turn is in the prompt: ${at.join(",")}`);
        assert.deepEqual([...at].sort((x, y) => x - y), at, "in order");
        const got = await f.engine.score(request, continuation, {workspace, mode: "none", conversation});
        assert.equal(got.promptTokens, tokens);
        const alone = await f.engine.score(request, continuation, {workspace, mode: "none"});
        assert.equal(alone.promptTokens, (await rendered([])).tokens);
        assert.ok(got.promptTokens > alone.promptTokens);
    });

    it("when the context is small the oldest exchange goes first and the request stays", async function () {
        const full = (await rendered(conversation)).tokens;
        const withoutOldest = (await rendered(conversation.slice(2))).tokens;
        assert.ok(full > withoutOldest);
        // a continuation long enough that the whole conversation no longer fits, but the newer exchange does
        const words = f.runtime.model.tokenize(continuation).length;
        const room = contextSize - full + Math.ceil((full - withoutOldest) / 2);
        const long = Array.from({length: Math.ceil(room / words)}, () => continuation).join(" ");
        const n = f.runtime.model.tokenize(long).length;
        assert.ok(full + n > contextSize && withoutOldest + n <= contextSize, `budget ${full}/${withoutOldest}/${n}`);
        const got = await f.engine.score(request, long, {workspace, mode: "none", conversation});
        assert.equal(got.promptTokens, withoutOldest);
    });
});

describe("conversation: a two-turn ask with a real model (SmolLM2-135M) @model", function () {
    this.timeout(180_000);
    const workspace = "ws";
    const f = engineFixture("hs-conv-real-", async () => ModelRuntime.load({modelPath: await realTestModel(), gpu: "cpu", threads: 1, contextSize: 2048}));

    it("the second turn's prompt grows by the first turn's text, and its log task names the first request", async function () {
        const first = "Write a Python function add(a, b) that returns their sum.";
        const second = "Now rename it to plus.";
        const options = {workspace, mode: "none" as const, maxRounds: 1, maxTokensPerRound: 32};
        const one = await f.engine.ask(first, {...options, log: false});
        assert.ok(one.answer.trim().length > 0);
        const conversation = [u(first), a(one.answer)];
        const two = await f.engine.ask(second, {...options, conversation});
        assert.ok(two.answer.trim().length > 0 && two.logId != null);
        assert.equal((await f.store.getLog(two.logId!))!.task, `(after "${first}") ${second}`);

        const alone = await f.engine.score(second, "def plus", {workspace, mode: "none"});
        const withTurn = await f.engine.score(second, "def plus", {workspace, mode: "none", conversation});
        const text = f.runtime.model.tokenize(first).length + f.runtime.model.tokenize(one.answer).length;
        const grew = withTurn.promptTokens - alone.promptTokens;
        assert.ok(grew >= text && grew <= text + 16, `grew by ${grew} tokens for ${text} tokens of text`);
    });
});
