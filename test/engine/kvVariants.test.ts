import assert from "node:assert/strict";
import type {LlamaContextSequence, Token} from "node-llama-cpp";
import {systemPrompt} from "../../src/engine/agent/react.js";
import {HindsightError} from "../../src/engine/errors.js";
import {Generator, type ChatTurn} from "../../src/engine/generation/Generator.js";
import {loadStackedLogs, type StoredKv} from "../../src/engine/kv/KvLogCodec.js";
import {encode, kvFingerprint, lagEncoding, logTextOf, logTokens, sinkKv, sinkTokens, stackedCellsOf, type KvEncoding} from "../../src/engine/kv/logKv.js";
import {builtinVerifyLogs, maxAbsDiff, promptLogits, vocabSizeOf} from "../../src/engine/diagnostics/verifyKv.js";
import {defaults, parseModeName} from "../../src/engine/options.js";
import {createMemoryMode} from "../../src/engine/session/registry.js";
import {frameNote} from "../../src/engine/session/modes/kvVariant.js";
import {parseEvalMode} from "../../src/eval/evalMode.js";
import {engineFixture, loadTinyExactModel} from "../support/engineFixture.js";

/**
 * Issue 12's variants of `kv` (`kv+task+sink+epic+near+frame`; `epic`'s stacking in kvEpic.test.ts): names, and on a tiny random-weight model (f32 weights
 * and KV, flash attention off: deterministic to float rounding) that each variant stacks exactly the cells it says,
 * against in-memory references.
 */
const TOL = 1e-4;

describe("kv variants: names", function () {
    it("parses a base mode and its flags, in the fixed order, once each", function () {
        assert.deepEqual(parseModeName("kv"), {base: "kv", flags: []});
        assert.deepEqual(parseModeName("kv+task+sink+near+frame"), {base: "kv", flags: ["task", "sink", "near", "frame"]});
        assert.deepEqual(parseModeName("kv+task+sink+epic+near+frame"), {base: "kv", flags: ["task", "sink", "epic", "near", "frame"]});
        assert.deepEqual(parseModeName("kv+sink+epic+near"), {base: "kv", flags: ["sink", "epic", "near"]});
        assert.deepEqual(parseModeName("kv+epic+near"), {base: "kv", flags: ["epic", "near"]});
        assert.deepEqual(parseModeName("kv+sink+near+gate"), {base: "kv", flags: ["sink", "near", "gate"]});
        assert.deepEqual(parseModeName("kv-alone+sink"), {base: "kv-alone", flags: ["sink"]});
        for (const bad of ["kv+sink+task", "kv+sink+sink", "kv+epic+sink", "kv+near+epic", "kv+epic+epic", "kv+gate+near", "kv+bogus", "text-last+sink", "none+near", "kv+", "", "kv ", "KV"])
            assert.equal(parseModeName(bad), null, bad);
    });

    it("the registry builds what a name says, and refuses an unknown one with a named error", function () {
        const m = createMemoryMode("kv+task+sink+near");
        assert.deepEqual(m.kv, {alone: false, task: true, sink: true});
        assert.equal(m.order, "near");
        assert.deepEqual(createMemoryMode("kv").kv, lagEncoding);
        assert.equal(createMemoryMode("kv").order, "rank");
        assert.deepEqual(createMemoryMode("kv-alone+sink").kv, {alone: true, task: false, sink: true});
        assert.throws(() => createMemoryMode("kv+sink+task" as never), (err: unknown) => err instanceof HindsightError && err.code === "INVALID_ARGUMENT" && /in that order/.test(err.message));
    });

    it("an evaluation mode may carry its own k", function () {
        assert.deepEqual(parseEvalMode("kv+sink@k5"), {mode: "kv+sink", k: 5, verify: false});
        assert.deepEqual(parseEvalMode("none"), {mode: "none", k: null, verify: false});
        assert.deepEqual(parseEvalMode("none/verify"), {mode: "none", k: null, verify: true});
        assert.deepEqual(parseEvalMode("kv+near@k1/verify"), {mode: "kv+near", k: 1, verify: true});
        for (const bad of ["kv@k0", "kv@k", "kv@5", "kv+bogus@k1", "kv@k100", "kv/verify@k1", "kv/check", "/verify"])
            assert.throws(() => parseEvalMode(bad), (err: unknown) => err instanceof HindsightError && err.code === "INVALID_ARGUMENT", bad);
    });

    it("the frame note counts the sessions and says requirements may differ", async function () {
        const one = frameNote(1, false), three = frameNote(3, true);
        assert.match(one, /one past session/);
        assert.match(three, /3 past sessions.*each with its task/);
        assert.match(three, /requirements may differ/i);
        assert.equal(await createMemoryMode("kv+frame").notes([], {} as never), "", "no logs, no note");
        assert.equal(await createMemoryMode("kv").notes([{} as never], {} as never), "");
    });
});

describe("kv variants: exact stacking on a tiny model @model", function () {
    this.timeout(180_000);
    const workspace = "ws";
    const f = engineFixture("hs-kvvar-", () => loadTinyExactModel({contextSize: 1024, threads: 2}));
    let seq: LlamaContextSequence;
    let vocab: number;
    const prompt = () => [...f.runtime.model.tokenize("\nQuestion: why does the CSV import drop the second name?\nAnswer:")];

    before(async function () {
        seq = (await f.runtime.createContext({sequences: 1, contextSize: 1024})).getSequence();
        vocab = vocabSizeOf(f.runtime);
    });

    const logText = (i: number) => {
        const {text, last} = logTextOf(builtinVerifyLogs[i]!.responses);
        return {logText: text, lastResponse: last, task: `Task ${i}: fix the CSV import`};
    };
    const sink: KvEncoding = {...lagEncoding, sink: true};

    it("sink: a log encoded after the shared prefix, stacked after that prefix's cells, gives the in-memory logits", async function () {
        const log = logText(1); // three responses: its last attended to two before it
        const tokens = logTokens(f.runtime.model, log, 1024, sink);
        const s = sinkTokens(f.runtime.model);
        assert.deepEqual(tokens.tokens.slice(0, s.length), s, "the log is tokenized after the sink");
        const encoded = await encode(f.runtime, seq, log, {encoding: sink});
        assert.deepEqual(encoded.tokens, tokens.tokens.slice(tokens.keepFrom), "only the last response is kept");

        // in memory: sink, earlier responses, last response; the earlier responses removed (later cells shifted down)
        await seq.clearHistory();
        await seq.evaluateWithoutGeneratingNewTokens(tokens.tokens as Token[]);
        await seq.eraseContextTokenRanges([{start: s.length, end: tokens.keepFrom}]);
        assert.equal(seq.contextTokens.length, s.length + encoded.nCells);
        const ref = await promptLogits(seq, prompt(), vocab);

        const sinkCells = await sinkKv(f.runtime, seq);
        await loadStackedLogs(f.runtime, seq, [sinkCells, {id: "l", blob: encoded.blob, tokens: encoded.tokens}]);
        const got = await promptLogits(seq, prompt(), vocab);
        const diff = maxAbsDiff(ref, got);
        console.log(`      sink: max |logit diff| ${diff.toExponential(2)} over ${s.length} + ${encoded.nCells} cells`);
        assert.ok(diff <= TOL, `${diff}`);

        // the same log stacked the paper's way (no sink) is another computation
        const lag = await encode(f.runtime, seq, log);
        await loadStackedLogs(f.runtime, seq, [{id: "l", blob: lag.blob, tokens: lag.tokens}]);
        assert.ok(maxAbsDiff(ref, await promptLogits(seq, prompt(), vocab)) > 100 * TOL, "the sink changes the cells");
    });

    it("task: the kept cells hold the task header then the last response, as many as stackedCellsOf says", async function () {
        const log = logText(0);
        const encoded = await encode(f.runtime, seq, log, {encoding: {...lagEncoding, task: true}});
        const text = f.runtime.model.detokenize(encoded.tokens as Token[]);
        assert.ok(text.startsWith("Past task: Task 0: fix the CSV import"), text.slice(0, 60));
        assert.ok(text.trimEnd().endsWith(log.lastResponse.trimEnd()));
        const lag = await encode(f.runtime, seq, log);
        const record = {task: log.task, nTokens: lag.nCells} as never;
        assert.equal(stackedCellsOf(f.runtime.model, record, {...lagEncoding, task: true}), encoded.nCells);
        assert.equal(stackedCellsOf(f.runtime.model, record, lagEncoding), lag.nCells);
    });

    it("storeLog stores LAG's KV and the default mode's; prepareKv encodes what a mode lacks, once", async function () {
        const log = await f.engine.storeLog({task: "CSV header row", workspace: "other", responses: ["The header row is read as data."]});
        const fingerprints = (await f.store.kvInfo(log.id)).map((k) => k.fingerprint).sort();
        const preferred = createMemoryMode(defaults.mode).kv!;
        assert.deepEqual(fingerprints, [kvFingerprint(f.runtime), kvFingerprint(f.runtime, preferred)].sort());
        assert.notEqual(kvFingerprint(f.runtime, preferred), kvFingerprint(f.runtime), "the default is not the paper's layout");
        const task = {...lagEncoding, task: true};
        assert.ok(await f.engine.prepareKv("kv+task") >= 1);
        assert.ok(await f.store.getKv(log.id, kvFingerprint(f.runtime, task)) != null);
        assert.equal(await f.engine.prepareKv("kv+task"), 0, "nothing left to encode");
        assert.equal(await f.engine.prepareKv("text-last"), 0, "a mode without KV encodes nothing");
    });

    it("score with kv+task+sink+near+frame: sink once, logs best last, the frame note; the hand computation on those cells agrees", async function () {
        const request = "Why does the CSV import drop the second name of a user?";
        const continuation = " Because the parser splits quoted fields on commas.";
        const a = await f.engine.storeLog({task: "CSV import drops the second name of a user", workspace, responses: ["I read the CSV import.", "The CSV import splits the name of a user on commas."]});
        const b = await f.engine.storeLog({task: "CSV export of a user", workspace, responses: ["The CSV export quotes every field of a user."]});
        const mode = "kv+task+sink+near+frame";
        const got = await f.engine.score(request, continuation, {workspace, mode});
        assert.equal(got.usedLogs.length, 2);
        assert.deepEqual(new Set(got.usedLogs), new Set([a.id, b.id]));

        const encoding = {alone: false, task: true, sink: true};
        const kvs: StoredKv[] = [];
        for (const id of [...got.usedLogs].reverse()) {
            const kv = (await f.store.getKv(id, kvFingerprint(f.runtime, encoding)))!;
            assert.ok(kv != null, "the variant's KV is stored under its own fingerprint");
            kvs.push({id, blob: kv.data, tokens: kv.tokens});
        }
        const context = await f.runtime.createContext({sequences: 1, contextSize: 1024});
        try {
            const ref = context.getSequence();
            const stacked = await loadStackedLogs(f.runtime, ref, [await sinkKv(f.runtime, ref), ...kvs]);
            assert.equal(got.prefixCells, stacked.nCells);
            const records = await Promise.all(got.usedLogs.map(async (id) => (await f.store.getLog(id))!));
            assert.equal(got.prefixCells, sinkTokens(f.runtime.model).length + records.reduce((n, l) => n + stackedCellsOf(f.runtime.model, l, encoding), 0));
            const generator = new Generator(f.runtime, ref);
            const turns: ChatTurn[] = [{role: "system", text: systemPrompt({tools: [], notes: frameNote(2, true)})}, {role: "user", text: request}];
            const promptTokens = generator.renderChat(turns);
            assert.equal(got.promptTokens, promptTokens.length);
            const tokens = [...promptTokens, ...f.runtime.model.tokenize(continuation)];
            const input = tokens.map((t, i) => i >= promptTokens.length - 1 && i < tokens.length - 1 ? [t, {generateNext: {logits: true}}] as const : t);
            const out = await ref.controlledEvaluate(input as never);
            let sum = 0;
            for (let i = promptTokens.length - 1; i < tokens.length - 1; i++) {
                const logits = [...out[i]!.next!.logits!.values()];
                const max = Math.max(...logits);
                sum += out[i]!.next!.logits!.get(tokens[i + 1]!)! - (Math.log(logits.reduce((s, x) => s + Math.exp(x - max), 0)) + max);
            }
            const want = sum / (tokens.length - promptTokens.length);
            console.log(`      ${mode}: mean ${got.meanLogProb.toFixed(4)} (hand ${want.toFixed(4)}), ${got.prefixCells} stacked cells`);
            assert.ok(Math.abs(got.meanLogProb - want) <= TOL, `${got.meanLogProb} vs ${want}`);
        } finally {
            await context.dispose();
        }
        const rank = await f.engine.score(request, continuation, {workspace, mode: "kv+task+sink+frame"});
        assert.ok(Math.abs(rank.meanLogProb - got.meanLogProb) > 10 * TOL, "the order of the logs changes the figure");
    });
});
