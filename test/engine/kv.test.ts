import assert from "node:assert/strict";
import type {LlamaContext, LlamaContextSequence, Token} from "node-llama-cpp";
import {KvLogError} from "../../src/engine/errors.js";
import {decodeKvBlob} from "../../src/engine/kv/KvBlob.js";
import {encodeLogKv, expectedLayoutFor, loadSequenceState, loadStackedLogs, stackViaLlamaShift, type StoredKv} from "../../src/engine/kv/KvLogCodec.js";
import {keepCellsFrom} from "../../src/engine/kv/llamaInternals.js";
import {argmax, builtinVerifyLogs, maxAbsDiff, promptLogits, tokenizeLog, verifyKv, vocabSizeOf, type TokenizedLog} from "../../src/engine/diagnostics/verifyKv.js";
import {ModelRuntime} from "../../src/engine/runtime/ModelRuntime.js";
import type {KvCacheType} from "../../src/engine/kv/ggml.js";
import {makeTinyModel, type TinyArch} from "../support/tinyGguf.js";

/**
 * Selective KV logs on tiny random-weight models (f32 weights, so llama.cpp is deterministic to float rounding):
 * a stored log loaded back (JS RoPE) must give the logits of the same cells computed in memory.
 * gpu "cpu", 2 threads, flash attention off.
 */
const TOL = 1e-4;
const PROMPT_TEXT = "\nQuestion: why does the CSV import drop the second name, and where is the fix?\nAnswer:";

function tinyOptions(arch: TinyArch) {
    return {arch, nLayer: 2, nEmbd: 128, nHead: 4, nHeadKv: 2, seed: 7};
}

async function loadRuntime(modelPath: string, kvType: KvCacheType): Promise<ModelRuntime> {
    return ModelRuntime.load({modelPath, kvType, gpu: "cpu", threads: 2, contextSize: 1024, flashAttention: false});
}

/** The figures one runtime gives: single round trip, context effect, 3 stacked vs llama.cpp's shift. */
async function measure(runtime: ModelRuntime, seq: LlamaContextSequence, logs: TokenizedLog[], prompt: number[]) {
    const vocab = vocabSizeOf(runtime);
    const encoded: StoredKv[] = [];
    for (const [i, log] of logs.entries()) {
        const e = await encodeLogKv(runtime, seq, log.tokens, log.keepFrom);
        encoded.push({id: `log${i}`, blob: e.blob, tokens: e.tokens});
    }
    // in-memory reference of log 0
    await seq.clearHistory();
    await seq.evaluateWithoutGeneratingNewTokens(logs[0]!.tokens as Token[]);
    keepCellsFrom(seq, logs[0]!.keepFrom);
    const ref1 = await promptLogits(seq, prompt, vocab);
    await loadStackedLogs(runtime, seq, [encoded[0]!]);
    const got1 = await promptLogits(seq, prompt, vocab);

    const st = await loadStackedLogs(runtime, seq, encoded);
    const got3 = await promptLogits(seq, prompt, vocab);
    const layout = expectedLayoutFor(runtime);
    await loadSequenceState(seq, await stackViaLlamaShift(runtime, encoded.map((l) => decodeKvBlob(l.blob, layout)),
        encoded.map((l) => l.tokens), st.offsets, seq));
    const ref3 = await promptLogits(seq, prompt, vocab);
    return {encoded, ref1, got1, ref3, got3, single: maxAbsDiff(ref1, got1), stack: maxAbsDiff(ref3, got3), nCells: st.nCells};
}

for (const arch of ["llama", "qwen2"] as TinyArch[]) {
    describe(`KV logs on a tiny ${arch} model (F32 KV, RoPE ${arch === "llama" ? "norm" : "neox"}) @model`, function () {
        this.timeout(60_000);
        let modelPath: string;
        let runtime: ModelRuntime;
        let context: LlamaContext;
        let seq: LlamaContextSequence;
        let logs: TokenizedLog[];
        let prompt: number[];
        let vocab: number;
        let m: Awaited<ReturnType<typeof measure>>;

        before(async function () {
            modelPath = await makeTinyModel(tinyOptions(arch));
            runtime = await loadRuntime(modelPath, "f32");
            context = await runtime.createContext({sequences: 1, contextSize: 1024});
            seq = context.getSequence();
            vocab = vocabSizeOf(runtime);
            logs = builtinVerifyLogs.map((l) => tokenizeLog(runtime, l.responses));
            prompt = [...runtime.model.tokenize(PROMPT_TEXT)];
            m = await measure(runtime, seq, logs, prompt);
        });

        after(async function () {
            await runtime?.dispose();
        });

        it("single log round trip (encode, blob, load) gives the in-memory logits", function () {
            console.log(`      ${arch} f32: single ${m.single.toExponential(2)}, 3 stacked ${m.stack.toExponential(2)} (${m.nCells} cells)`);
            assert.ok(m.single <= TOL, `single-log max |Δlogit| ${m.single} > ${TOL}`);
            assert.equal(argmax(m.got1), argmax(m.ref1));
        });

        it("the stored log carries its earlier context", async function () {
            const log = logs[0]!;
            const alone = await encodeLogKv(runtime, seq, log.tokens.slice(log.keepFrom), 0);
            await loadStackedLogs(runtime, seq, [{id: "alone", blob: alone.blob, tokens: alone.tokens}]);
            const noCtx = await promptLogits(seq, prompt, vocab);
            const effect = maxAbsDiff(m.ref1, noCtx);
            console.log(`      ${arch}: context effect ${effect.toFixed(3)} (${(effect / Math.max(m.single, 1e-12)).toExponential(1)}x the round trip)`);
            assert.ok(effect > 1e-2, `context effect ${effect}`);
            assert.ok(effect > 100 * m.single, `context effect ${effect} not > 100 x ${m.single}`);
        });

        it("3 stacked logs (JS RoPE) match llama.cpp's own K-shift", function () {
            assert.ok(m.stack <= TOL, `stacked max |Δlogit| ${m.stack} > ${TOL}`);
            assert.equal(argmax(m.got3), argmax(m.ref3));
        });

        it("F16 KV: same checks (figures reported)", async function () {
            const rt16 = await loadRuntime(modelPath, "f16");
            try {
                const ctx16 = await rt16.createContext({sequences: 1, contextSize: 1024});
                const m16 = await measure(rt16, ctx16.getSequence(), logs, prompt);
                console.log(`      ${arch} f16: single ${m16.single.toExponential(2)}, 3 stacked ${m16.stack.toExponential(2)}`);
                assert.ok(m16.single < 0.1 && m16.stack < 0.1);
            } finally {
                await rt16.dispose();
            }
        });

        it("verifyKv passes", async function () {
            const r = await verifyKv(runtime);
            assert.ok(r.passed, JSON.stringify(r));
            assert.ok(r.maxAbsDiff <= TOL && r.noiseFloor <= TOL && r.contextEffect > 1e-2, JSON.stringify(r));
        });

        it("refuses a blob from another model or KV type before loading, and the sequence still works", async function () {
            // a log is loaded; a refused load must leave it as it was
            await loadStackedLogs(runtime, seq, [m.encoded[1]!]);
            const before = [...seq.contextTokens];
            const other = await makeTinyModel({...tinyOptions(arch), seed: 8});
            for (const [path, kvType] of [[modelPath, "f16"], [other, "f32"]] as const) {
                const rt2 = await loadRuntime(path, kvType);
                let foreign: StoredKv;
                try {
                    assert.notEqual(rt2.fingerprint.id, runtime.fingerprint.id);
                    const ctx2 = await rt2.createContext({sequences: 1, contextSize: 512});
                    const e = await encodeLogKv(rt2, ctx2.getSequence(), logs[0]!.tokens, logs[0]!.keepFrom);
                    foreign = {id: "foreign", blob: e.blob, tokens: e.tokens};
                } finally {
                    await rt2.dispose();
                }
                await assert.rejects(loadStackedLogs(runtime, seq, [m.encoded[0]!, foreign]),
                    (err: unknown) => err instanceof KvLogError && err.code === "KV_FINGERPRINT_MISMATCH");
                assert.deepEqual([...seq.contextTokens], before);
            }
            // the sequence still evaluates, and on top of the log it held
            const logits = await promptLogits(seq, prompt, vocab);
            await loadStackedLogs(runtime, seq, [m.encoded[1]!]);
            assert.ok(maxAbsDiff(logits, await promptLogits(seq, prompt, vocab)) <= TOL);
        });

        it("refuses a corrupted or truncated blob (KV_CORRUPT) and loads nothing", async function () {
            await loadStackedLogs(runtime, seq, [m.encoded[2]!]);
            const before = [...seq.contextTokens];
            const good = m.encoded[1]!;
            const flipped = Uint8Array.from(good.blob);
            flipped[flipped.length - 100]! ^= 0x40;
            const truncated = good.blob.slice(0, good.blob.length - 7);
            const badMagic = Uint8Array.from(good.blob);
            badMagic[0] = 0;
            for (const blob of [flipped, truncated, badMagic, good.blob.slice(0, 10)]) {
                await assert.rejects(loadStackedLogs(runtime, seq, [m.encoded[0]!, {...good, blob}]),
                    (err: unknown) => err instanceof KvLogError && err.code === "KV_CORRUPT");
                assert.deepEqual([...seq.contextTokens], before);
            }
            // token count that does not match the cells
            await assert.rejects(loadStackedLogs(runtime, seq, [{...good, tokens: good.tokens.slice(1)}]),
                (err: unknown) => err instanceof KvLogError && err.code === "KV_CORRUPT");
            assert.deepEqual([...seq.contextTokens], before);
            const logits = await promptLogits(seq, prompt, vocab);
            await loadStackedLogs(runtime, seq, [m.encoded[2]!]);
            assert.ok(maxAbsDiff(logits, await promptLogits(seq, prompt, vocab)) <= TOL);
        });
    });
}

describe("Quantized KV types @model", function () {
    this.timeout(60_000);

    it("q8_0 is refused with head_dim 32 (llama.cpp would crash shifting it)", async function () {
        const modelPath = await makeTinyModel({arch: "llama", nLayer: 2, nEmbd: 128, nHead: 4, nHeadKv: 2, seed: 7});
        for (const kvType of ["q8_0", "q4_0"] as const)
            await assert.rejects(loadRuntime(modelPath, kvType),
                (err: unknown) => err instanceof KvLogError && err.code === "KV_TYPE_UNSUPPORTED");
    });

    it("q8_0 with head_dim 64 loads (flash attention pinned on) and round-trips through llama.cpp's shift", async function () {
        const modelPath = await makeTinyModel({arch: "llama", nLayer: 2, nEmbd: 128, nHead: 2, nHeadKv: 2, seed: 7});
        const runtime = await loadRuntime(modelPath, "q8_0");
        try {
            assert.equal(runtime.options.flashAttention, true);
            assert.equal(runtime.canRotateKeysInJs, false);
            const r = await verifyKv(runtime);
            console.log(`      q8_0 (llama.cpp shift): single ${r.singleDiff.toExponential(2)}, stack ${r.stackDiff.toExponential(2)}, ` +
                `noise ${r.noiseFloor.toExponential(2)}, context effect ${r.contextEffect.toFixed(3)}`);
            assert.ok(r.passed, JSON.stringify(r));
        } finally {
            await runtime.dispose();
        }
    });
});
