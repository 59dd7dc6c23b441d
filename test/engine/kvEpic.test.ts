import assert from "node:assert/strict";
import type {LlamaContext, LlamaContextSequence, Token} from "node-llama-cpp";
import {systemPrompt} from "../../src/engine/agent/react.js";
import {HindsightError, KvLogError} from "../../src/engine/errors.js";
import {Generator} from "../../src/engine/generation/Generator.js";
import {EPIC_RECOMPUTE_TOKENS, loadEpicStack} from "../../src/engine/kv/epicStack.js";
import {loadStackedLogs, saveSequenceState, type StoredKv} from "../../src/engine/kv/KvLogCodec.js";
import {encode, encodingSuffix, kvFingerprint, lagEncoding, logTextOf, sinkKv, type KvEncoding} from "../../src/engine/kv/logKv.js";
import {parseSeqState, sliceCells, type KvCells} from "../../src/engine/kv/seqState.js";
import {StackedPrefix} from "../../src/engine/kv/StackedPrefix.js";
import {builtinVerifyLogs, maxAbsDiff, promptLogits, vocabSizeOf} from "../../src/engine/diagnostics/verifyKv.js";
import type {ModelRuntime} from "../../src/engine/runtime/ModelRuntime.js";
import {createMemoryMode} from "../../src/engine/session/registry.js";
import {engineFixture, loadTinyExactModel} from "../support/engineFixture.js";

/**
 * The `epic` flag (issue 12, EPIC): every stacked part after the first has its first tokens evaluated again at
 * their new place, the rest of its cells kept as stored. On the tiny f32 model (flash attention off) against
 * in-memory references: all tokens recomputed equals evaluating the logs one after the other; none equals plain
 * stacking byte for byte; a few recomputed attend to what precedes them and leave the other cells as stored.
 */
const TOL = 1e-4;

describe("kv variants: epic, model-free", function () {
    it("the mode carries the flag and keeps the encoding (and stored KV) of the mode without it", function () {
        const m = createMemoryMode("kv+sink+epic+near");
        assert.equal(m.epic, true);
        assert.equal(m.order, "near");
        assert.deepEqual(m.kv, {alone: false, task: false, sink: true});
        assert.equal(encodingSuffix(m.kv!), encodingSuffix(createMemoryMode("kv+sink+near").kv!), "same fingerprint suffix");
        assert.equal(createMemoryMode("kv+sink+near").epic, false);
        assert.equal(createMemoryMode("kv").epic ?? false, false);
    });

    it("quantized KV is refused with a named error before the sequence or the store is touched", async function () {
        const runtime = {canRotateKeysInJs: false, options: {kvType: "q8_0"}} as unknown as ModelRuntime;
        const untouchable = new Proxy({}, {get: (_, p) => { throw new Error(`the sequence was touched (${String(p)})`); }}) as LlamaContextSequence;
        const refused = (err: unknown) => err instanceof KvLogError && err.code === "KV_TYPE_UNSUPPORTED" &&
            /q8_0/.test(err.message) && /use f16 KV or drop `epic`/.test(err.message);
        await assert.rejects(loadEpicStack(runtime, untouchable, [{id: "a", blob: new Uint8Array(8), tokens: [1]}]), refused);

        let loaded = false;
        const prefix = new StackedPrefix(runtime, untouchable);
        await assert.rejects(prefix.stack(["a"], async () => { loaded = true; return []; }, "kv+epic", {recompute: EPIC_RECOMPUTE_TOKENS}), refused);
        assert.equal(loaded, false, "no log was read or encoded");
    });
});

describe("kv variants: epic stacking on a tiny model @model", function () {
    this.timeout(180_000);
    const workspace = "ws-epic";
    const f = engineFixture("hs-kvepic-", () => loadTinyExactModel({contextSize: 1024, threads: Number(process.env.HINDSIGHT_THREADS ?? 2)}));
    let context: LlamaContext;
    /** The sequence stacks are built on, and the one references are computed on. */
    let seq: LlamaContextSequence, ref: LlamaContextSequence;
    let vocab: number;
    let sink: StoredKv;
    const lag: StoredKv[] = [], sunk: StoredKv[] = [];
    const prompt = () => [...f.runtime.model.tokenize("\nQuestion: why does the CSV import drop the second name?\nAnswer:")];

    /** Logits after each of `at` (indices into `tokens`), evaluating `tokens` at the end of `sequence`. */
    async function logitsAt(sequence: LlamaContextSequence, tokens: readonly number[], at: readonly number[]): Promise<Float32Array[]> {
        const input = tokens.map((t, i) => at.includes(i) ? [t as Token, {generateNext: {logits: true}}] as const : t as Token);
        const out = await sequence.controlledEvaluate(input as never);
        return at.map((i) => {
            const dense = new Float32Array(vocab).fill(-Infinity);
            for (const [token, value] of out[i]!.next!.logits!)
                if (token < vocab)
                    dense[token] = value;
            return dense;
        });
    }

    before(async function () {
        context = await f.runtime.createContext({sequences: 2, contextSize: 1024});
        seq = context.getSequence();
        ref = context.getSequence();
        vocab = vocabSizeOf(f.runtime);
        const sinkEncoding: KvEncoding = {...lagEncoding, sink: true};
        for (const [i, log] of builtinVerifyLogs.entries()) {
            const {text, last} = logTextOf(log.responses);
            const a = await encode(f.runtime, seq, {logText: text, lastResponse: last});
            lag.push({id: `lag${i}`, blob: a.blob, tokens: a.tokens});
            const b = await encode(f.runtime, seq, {logText: text, lastResponse: last}, {encoding: sinkEncoding});
            sunk.push({id: `sink${i}`, blob: b.blob, tokens: b.tokens});
        }
        sink = await sinkKv(f.runtime, seq);
    });

    after(async function () {
        await context?.dispose();
    });

    it("every token recomputed: the stack equals the logs evaluated one after the other after part 0's cells", async function () {
        for (const [name, parts] of [["without sink", lag], ["with sink", [sink, ...sunk]]] as const) {
            const n = parts.map((p) => p.tokens.length);
            const got = await loadEpicStack(f.runtime, seq, parts, Math.max(...n));
            assert.equal(got.recomputed, n.slice(1).reduce((a, b) => a + b, 0));
            assert.deepEqual(seq.contextTokens, parts.flatMap((p) => p.tokens), "the stacked token ids are the logs'");

            await loadStackedLogs(f.runtime, ref, [parts[0]!]);
            for (const part of parts.slice(1))
                await ref.evaluateWithoutGeneratingNewTokens([...part.tokens] as Token[]);
            const want = await promptLogits(ref, prompt(), vocab);
            const diff = maxAbsDiff(want, await promptLogits(seq, prompt(), vocab));
            await loadStackedLogs(f.runtime, seq, parts);
            const plain = maxAbsDiff(want, await promptLogits(seq, prompt(), vocab));
            console.log(`      epic, all recomputed, ${name}: max |logit diff| ${diff.toExponential(2)} over ${n.join(" + ")} cells ` +
                `(plain stacking: ${plain.toFixed(3)})`);
            assert.ok(diff <= TOL, `${diff}`);
            assert.ok(plain > 1000 * TOL, "the reference is not plain stacking");
        }
    });

    it("none recomputed: the same state as plain stacking, byte for byte", async function () {
        const parts = [sink, ...sunk];
        const got = await loadEpicStack(f.runtime, seq, parts, 0);
        assert.equal(got.recomputed, 0);
        const epic = await saveSequenceState(seq);
        await loadStackedLogs(f.runtime, seq, parts);
        const plain = await saveSequenceState(seq);
        assert.equal(epic.byteLength, plain.byteLength);
        assert.ok(Buffer.from(epic).equals(Buffer.from(plain)), "the two states differ");
    });

    it("a few recomputed: they attend to what precedes them, the other cells are as stored, the logits change", async function () {
        const m = 4;
        const parts = [sink, ...sunk];
        assert.ok(parts.slice(1).every((p) => p.tokens.length > m), "every log is longer than m");
        const got = await loadEpicStack(f.runtime, seq, parts, m);
        assert.equal(got.recomputed, m * (parts.length - 1));
        const epicState = parseSeqState(await saveSequenceState(seq));
        const epicLogits = await promptLogits(seq, prompt(), vocab);
        const plain = await loadStackedLogs(f.runtime, ref, parts);
        const plainState = parseSeqState(await saveSequenceState(ref));
        const change = maxAbsDiff(await promptLogits(ref, prompt(), vocab), epicLogits);
        console.log(`      epic, m = ${m}: max |logit diff| against plain stacking ${change.toFixed(3)}`);
        assert.ok(change > 1000 * TOL, `${change}`);

        // cells outside the recomputed ranges are the plain stack's (moved the same way), those inside are not
        assert.deepEqual([...epicState.tokens], [...plainState.tokens]);
        const same = (a: KvCells, b: KvCells) => a.layers.every((l, i) => Buffer.from(l.k).equals(Buffer.from(b.layers[i]!.k)) &&
            Buffer.from(l.v).equals(Buffer.from(b.layers[i]!.v)));
        const ends = [...plain.offsets.slice(1), plain.nCells];
        for (const [j, start] of plain.offsets.entries()) {
            const kept = j === 0 ? start : start + m;
            assert.ok(same(sliceCells(epicState.cells, kept, ends[j]!), sliceCells(plainState.cells, kept, ends[j]!)), `part ${j}: kept cells`);
            if (j > 0)
                assert.ok(!same(sliceCells(epicState.cells, start, kept), sliceCells(plainState.cells, start, kept)), `part ${j}: recomputed cells`);
        }

        // the state right after part 1's recompute is the stack's first offset + m cells (saved and loaded unchanged):
        // the last recomputed token's logits, and a prompt's after all m, against part 0 loaded then those m tokens
        const offset = plain.offsets[1]!;
        const first = sunk[0]!.tokens.slice(0, m);
        await loadEpicStack(f.runtime, seq, parts, m);
        await seq.eraseContextTokenRanges([{start: offset + m - 1, end: seq.contextTokens.length}]);
        const [gotLast, gotPrompt] = await logitsAt(seq, [first[m - 1]!, ...prompt()], [0, prompt().length]);
        await loadStackedLogs(f.runtime, ref, [sink]);
        const [refLast, refPrompt] = await logitsAt(ref, [...first, ...prompt()], [m - 1, m - 1 + prompt().length]);
        const dLast = maxAbsDiff(refLast!, gotLast!), dPrompt = maxAbsDiff(refPrompt!, gotPrompt!);
        console.log(`      epic, m = ${m}, after part 1's recompute: last recomputed token ${dLast.toExponential(2)}, prompt ${dPrompt.toExponential(2)}`);
        assert.ok(dLast <= TOL && dPrompt <= TOL, `${dLast} ${dPrompt}`);
    });

    it("a stacked prefix stacks again when only the recomputation differs, and bad counts are refused", async function () {
        const prefix = new StackedPrefix(f.runtime, seq);
        const load = async () => [sink, ...sunk];
        const ids = ["#sink", ...sunk.map((s) => s.id)];
        assert.equal(await prefix.stack(ids, load, "v"), true);
        assert.equal(await prefix.stack(ids, load, "v"), false, "the same stack is kept");
        assert.equal(await prefix.stack(ids, load, "v", {recompute: 4}), true, "a recomputing stack is never the plain one");
        assert.equal(await prefix.stack(ids, load, "v", {recompute: 4}), false);
        assert.equal(prefix.cells, [sink, ...sunk].reduce((n, p) => n + p.tokens.length, 0));
        for (const bad of [-1, 1.5])
            await assert.rejects(loadEpicStack(f.runtime, ref, lag, bad), (err: unknown) => err instanceof HindsightError && err.code === "INVALID_ARGUMENT");
    });

    it("score with kv+sink+epic+near: the hand computation over an epic stack of the sink and the logs agrees", async function () {
        const request = "Why does the CSV import drop the second name of a user?";
        const continuation = " Because the parser splits quoted fields on commas.";
        await f.engine.storeLog({task: "CSV import drops the second name of a user", workspace, responses: ["I read the CSV import.", "The CSV import splits the name of a user on commas."]});
        await f.engine.storeLog({task: "CSV export of a user", workspace, responses: ["The CSV export quotes every field of a user."]});
        const mode = "kv+sink+epic+near";
        const got = await f.engine.score(request, continuation, {workspace, mode});
        assert.equal(got.usedLogs.length, 2);

        const kvs: StoredKv[] = [];
        for (const id of [...got.usedLogs].reverse()) {
            const kv = (await f.store.getKv(id, kvFingerprint(f.runtime, {...lagEncoding, sink: true})))!;
            assert.ok(kv != null, "epic stacks the stored `#sink` KV");
            kvs.push({id, blob: kv.data, tokens: kv.tokens});
        }
        const stacked = await loadEpicStack(f.runtime, ref, [sink, ...kvs]);
        assert.equal(got.prefixCells, stacked.nCells);
        const promptTokens = new Generator(f.runtime, ref).renderChat([{role: "system", text: systemPrompt({tools: [], notes: ""})}, {role: "user", text: request}]);
        assert.equal(got.promptTokens, promptTokens.length);
        const cont = [...f.runtime.model.tokenize(continuation)];
        const at = cont.map((_, i) => promptTokens.length - 1 + i);
        const logits = await logitsAt(ref, [...promptTokens, ...cont.slice(0, -1)], at);
        let sum = 0;
        for (const [i, l] of logits.entries()) {
            const max = Math.max(...l);
            sum += l[cont[i]!]! - (Math.log(l.reduce((s, x) => s + Math.exp(x - max), 0)) + max);
        }
        const want = sum / cont.length;
        const plain = await f.engine.score(request, continuation, {workspace, mode: "kv+sink+near"});
        console.log(`      ${mode}: mean ${got.meanLogProb.toFixed(4)} (hand ${want.toFixed(4)}; kv+sink+near ${plain.meanLogProb.toFixed(4)}), ${got.prefixCells} stacked cells`);
        assert.ok(Math.abs(got.meanLogProb - want) <= TOL, `${got.meanLogProb} vs ${want}`);
        assert.ok(Math.abs(plain.meanLogProb - got.meanLogProb) > 10 * TOL, "epic changes the figure");
    });
});
