import assert from "node:assert/strict";
import type {LlamaContextSequence, Token} from "node-llama-cpp";
import {systemPrompt} from "../../src/engine/agent/react.js";
import {HindsightError} from "../../src/engine/errors.js";
import {Generator, type ChatTurn} from "../../src/engine/generation/Generator.js";
import {HindsightEngine} from "../../src/engine/HindsightEngine.js";
import {loadStackedLogs} from "../../src/engine/kv/KvLogCodec.js";
import {kvFingerprint} from "../../src/engine/kv/logKv.js";
import {engineFixture, loadTinyExactModel} from "../support/engineFixture.js";

/**
 * `HindsightEngine.score` on a tiny random-weight model (f32 weights and KV, flash attention off: deterministic to
 * float rounding), against a hand computation: the same cells evaluated in a fresh sequence, every logit returned,
 * log softmax computed here.
 */
const TOL = 1e-4;

/** Mean log probability of `continuation` after `prompt`, evaluated on `seq` after its first `prefixCells` cells. */
async function handScore(seq: LlamaContextSequence, prompt: readonly Token[], continuation: readonly Token[]): Promise<number[]> {
    const tokens = [...prompt, ...continuation];
    const input = tokens.map((t, i) => i >= prompt.length - 1 && i < tokens.length - 1 ? [t, {generateNext: {logits: true}}] as const : t);
    const out = await seq.controlledEvaluate(input as never);
    const logProbs: number[] = [];
    for (let i = prompt.length - 1; i < tokens.length - 1; i++) {
        const logits = [...out[i]!.next!.logits!.values()];
        const max = Math.max(...logits);
        const logSum = Math.log(logits.reduce((s, x) => s + Math.exp(x - max), 0)) + max;
        logProbs.push(out[i]!.next!.logits!.get(tokens[i + 1]!)! - logSum);
    }
    return logProbs;
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe("engine score: log probability of a continuation, one forward pass @model", function () {
    this.timeout(180_000);
    let logId: string;
    const workspace = "ws";
    const request = "Why does the CSV parser split quoted fields on commas?";
    const continuation = "Because it splits every line on commas; use a quote-aware state machine.";

    const f = engineFixture("hs-score-", () => loadTinyExactModel({contextSize: 1024, threads: 2}));

    before(async function () {
        const log = await f.engine.storeLog({task: "CSV parser splits quoted fields", workspace,
            responses: ["I read parser.ts.", "The CSV parser splits quoted fields on commas: track quotes in a state machine."]});
        logId = log.id;
    });

    /** The round-1 prompt `ask` renders for `notes`, tokens of the continuation, and a fresh sequence. */
    async function reference(notes: string, answerPrefix?: string) {
        const context = await f.runtime.createContext({sequences: 1, contextSize: 1024});
        const seq = context.getSequence();
        const generator = new Generator(f.runtime, seq);
        const turns: ChatTurn[] = [{role: "system", text: systemPrompt({tools: [], notes})}, {role: "user", text: request}];
        return {context, seq, prompt: generator.renderChat(turns, answerPrefix), continuation: f.runtime.model.tokenize(continuation)};
    }

    it("mode none: the mean and sum match log softmax of the logits computed by hand, and nothing is stored", async function () {
        const before = await f.store.countLogs();
        const got = await f.engine.score(request, continuation, {workspace, mode: "none"});
        const ref = await reference("");
        try {
            const want = await handScore(ref.seq, ref.prompt, ref.continuation);
            console.log(`      none: mean ${got.meanLogProb.toFixed(4)} (hand ${mean(want).toFixed(4)}) over ${got.tokens} tokens`);
            assert.equal(got.tokens, ref.continuation.length);
            assert.equal(got.promptTokens, ref.prompt.length);
            assert.equal(got.prefixCells, 0);
            assert.deepEqual(got.usedLogs, []);
            assert.ok(Math.abs(got.meanLogProb - mean(want)) <= TOL, `${got.meanLogProb} vs ${mean(want)}`);
            assert.ok(Math.abs(got.sumLogProb - want.reduce((a, b) => a + b, 0)) <= TOL * want.length);
            assert.ok(got.meanLogProb < 0);
        } finally {
            await ref.context.dispose();
        }
        assert.equal(await f.store.countLogs(), before, "score stores no log");
    });

    it("mode kv: the retrieved log's KV is stacked in front, as ask does, and the figures match the hand computation on the same cells", async function () {
        const got = await f.engine.score(request, continuation, {workspace, mode: "kv"});
        assert.deepEqual(got.usedLogs, [logId]);
        const ref = await reference("");
        try {
            const kv = (await f.store.getKv(logId, kvFingerprint(f.runtime)))!;
            const stacked = await loadStackedLogs(f.runtime, ref.seq, [{id: logId, blob: kv.data, tokens: kv.tokens}]);
            assert.equal(got.prefixCells, stacked.nCells);
            const want = await handScore(ref.seq, ref.prompt, ref.continuation);
            console.log(`      kv: mean ${got.meanLogProb.toFixed(4)} (hand ${mean(want).toFixed(4)}), ${got.prefixCells} stacked cells`);
            assert.ok(Math.abs(got.meanLogProb - mean(want)) <= TOL, `${got.meanLogProb} vs ${mean(want)}`);
            const none = await f.engine.score(request, continuation, {workspace, mode: "none"});
            assert.ok(Math.abs(none.meanLogProb - got.meanLogProb) > 10 * TOL, "the stacked log changes the figure");
        } finally {
            await ref.context.dispose();
        }
    });

    it("mode text-last: the log's last response is in the system prompt; an answer prefix is scored after", async function () {
        const log = (await f.store.getLog(logId))!;
        const got = await f.engine.score(request, continuation, {workspace, mode: "text-last", answerPrefix: "ANSWER: "});
        const ref = await reference(`[1] Past task: ${log.task}\n${log.lastResponse}`, "ANSWER: ");
        try {
            const want = await handScore(ref.seq, ref.prompt, ref.continuation);
            assert.equal(got.promptTokens, ref.prompt.length);
            assert.ok(Math.abs(got.meanLogProb - mean(want)) <= TOL, `${got.meanLogProb} vs ${mean(want)}`);
        } finally {
            await ref.context.dispose();
        }
    });

    it("ask with an answer prefix: the first reply starts with it (streamed too), after the assistant turn opener", async function () {
        const pieces: string[] = [];
        const result = await f.engine.ask(request, {workspace, mode: "none", maxRounds: 1, maxTokensPerRound: 4, log: false,
            answerPrefix: "def parse(line):", onText: (t) => pieces.push(t)});
        assert.ok(result.responses[0]!.startsWith("def parse(line):"), result.responses[0]);
        assert.ok(pieces.join("").startsWith("def parse(line):"));
        const ref = await reference("", "def parse(line):");
        try {
            assert.ok(f.runtime.model.detokenize(ref.prompt).endsWith("def parse(line):"));
            assert.equal(result.tokens.prompt, ref.prompt.length, "the prefix is part of the prompt evaluated");
        } finally {
            await ref.context.dispose();
        }
    });

    it("refuses an empty continuation, and every call once disposed", async function () {
        await assert.rejects(f.engine.score(request, "", {workspace, mode: "none"}), (err: unknown) => err instanceof HindsightError && err.code === "INVALID_ARGUMENT");
        const other = await HindsightEngine.create(f.runtime, f.store);
        await other[Symbol.asyncDispose]();
        await assert.rejects(other.ask(request, {workspace, mode: "none"}), (err: unknown) => err instanceof HindsightError && err.code === "DISPOSED");
        await assert.rejects(other.score(request, continuation, {workspace}), (err: unknown) => err instanceof HindsightError && err.code === "DISPOSED");
    });
});
