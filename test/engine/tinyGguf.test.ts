import assert from "node:assert/strict";
import fs from "node:fs";
import {getLlama, LlamaLogLevel, type Llama, type LlamaContext, type LlamaModel, type Token} from "node-llama-cpp";
import {f32ToF16, makeTinyModel, parseGguf, readGguf, resolveTinyModelShape, type TinyArch} from "../support/tinyGguf.js";

const SENTENCE = "The quick brown fox jumps over the lazy dog, then writes a unit test.";

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
    assert.equal(a.length, b.length);
    let m = 0;
    for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
    return m;
}

describe("tinyGguf: GGUF reader/writer", function () {
    it("rounds float32 to float16 like IEEE (nearest even)", function () {
        const src = new Float32Array([0, -0, 1, -2, 65504, 1e6, 5.960464477539063e-8, 1 + 2 ** -11, 1 + 3 * 2 ** -11, Infinity]);
        assert.deepEqual(Array.from(f32ToF16(src)),
            [0x0000, 0x8000, 0x3c00, 0xc000, 0x7bff, 0x7c00, 0x0001, 0x3c00, 0x3c02, 0x7c00]);
    });

    it("rejects shapes llama.cpp cannot load", function () {
        assert.throws(() => resolveTinyModelShape({arch: "llama", nEmbd: 100, nHead: 3}));
        assert.throws(() => resolveTinyModelShape({arch: "llama", nHead: 4, nHeadKv: 3}));
        assert.equal(resolveTinyModelShape({arch: "qwen2", nEmbd: 128, nHead: 2}).headDim, 64);
    });
});

for (const arch of ["llama", "qwen2"] as TinyArch[]) {
    describe(`tinyGguf: ${arch} model through node-llama-cpp`, function () {
        this.timeout(120_000);
        let llama: Llama;
        let model: LlamaModel;
        let context: LlamaContext;
        let modelPath: string;

        before(async function () {
            const t0 = Date.now();
            modelPath = await makeTinyModel({arch, nLayer: 2, nEmbd: 128, nHead: 4, nHeadKv: 2, seed: 7});
            const t1 = Date.now();
            llama = await getLlama({gpu: false, maxThreads: 2, logLevel: LlamaLogLevel.error});
            model = await llama.loadModel({modelPath});
            context = await model.createContext({contextSize: 512, sequences: 1, flashAttention: false, threads: 2});
            if (process.env.TINY_GGUF_VERBOSE)
                console.log(`    ${arch}: write ${t1 - t0} ms, load ${Date.now() - t1} ms, ` +
                    `${(fs.statSync(modelPath).size / 1e6).toFixed(1)} MB`);
        });

        after(async function () {
            await context?.dispose();
            await model?.dispose();
            await llama?.dispose();
        });

        it("is cached: same options give the same path without rewriting", async function () {
            const mtime = fs.statSync(modelPath).mtimeMs;
            const again = await makeTinyModel({arch, nLayer: 2, nEmbd: 128, nHead: 4, nHeadKv: 2, seed: 7});
            assert.equal(again, modelPath);
            assert.equal(fs.statSync(modelPath).mtimeMs, mtime);
        });

        it("has the expected metadata and tensors", async function () {
            assert.equal(model.fileInfo.metadata.general.architecture, arch);
            const g = await readGguf(modelPath);
            assert.equal(g.version, 3);
            assert.equal(g.metadata["general.architecture"], arch);
            assert.equal(g.metadata[`${arch}.block_count`], 2);
            assert.equal(g.metadata[`${arch}.attention.head_count_kv`], 2);
            const names = new Set(g.tensors.map((t) => t.name));
            for (const n of ["token_embd.weight", "output_norm.weight", "output.weight", "blk.1.ffn_down.weight"])
                assert.ok(names.has(n), n);
            assert.equal(names.has("blk.0.attn_k.bias"), arch === "qwen2");
            const nVocab = (g.metadata["tokenizer.ggml.tokens"] as string[]).length;
            assert.deepEqual(g.tensors.find((t) => t.name === "output.weight")!.dims, [128, nVocab]);
            assert.deepEqual(g.tensors.find((t) => t.name === "blk.0.attn_k.weight")!.dims, [128, 2 * 32]);
            // round trip of the parser over the written header
            assert.equal(parseGguf(fs.readFileSync(modelPath)).tensors.length, g.tensors.length);
        });

        it("has a real tokenizer", function () {
            const tokens = model.tokenize(SENTENCE);
            assert.ok(tokens.length > 3, `only ${tokens.length} tokens`);
            assert.ok(tokens.length < SENTENCE.length, "tokenizer falls back to bytes/characters");
            assert.equal(model.detokenize(tokens).trim(), SENTENCE);
        });

        it("gives finite, varied logits that depend on earlier tokens", async function () {
            const sequence = context.getSequence();
            try {
                const tokens = model.tokenize(SENTENCE, false);
                const bos = model.tokens.bos;
                const nVocab = (await readGguf(modelPath)).tensors.find((t) => t.name === "output.weight")!.dims[1]!;
                const input: Token[] = bos != null ? [bos, ...tokens] : tokens;

                const logitsOf = async (toks: Token[]): Promise<Float32Array> => {
                    await sequence.clearHistory();
                    const res = await sequence.controlledEvaluate([
                        ...toks.slice(0, -1),
                        [toks[toks.length - 1]!, {generateNext: {logits: true}}]
                    ]);
                    const logits = res[res.length - 1]?.next?.logits;
                    assert.ok(logits, "no logits returned");
                    // a Map sorted by logit: back to a vector indexed by token
                    const vec = new Float32Array(nVocab).fill(NaN);
                    for (const [tok, v] of logits) vec[tok] = v;
                    return vec;
                };

                const base = await logitsOf(input);
                assert.ok(base.every(Number.isFinite), "non-finite logits");
                let min = Infinity, max = -Infinity, sum = 0, sq = 0;
                for (const v of base) { min = Math.min(min, v); max = Math.max(max, v); sum += v; sq += v * v; }
                const std = Math.sqrt(sq / base.length - (sum / base.length) ** 2);
                assert.ok(max - min > 1, `logits nearly constant: [${min}, ${max}]`);
                assert.ok(std > 0.3 && std < 20 && max < 100, `logit scale off: std ${std}, max ${max}`);

                // deterministic
                assert.equal(maxAbsDiff(base, await logitsOf(input)), 0);

                // changing an early token (index 2) changes the last position's logits
                const changed = input.slice();
                changed[2] = (changed[2] === input[3] ? input[4] : input[3])!;
                const diff = maxAbsDiff(base, await logitsOf(changed));
                assert.ok(diff > 1e-2, `logits do not depend on context (max diff ${diff})`);
                if (process.env.TINY_GGUF_VERBOSE)
                    console.log(`    ${arch}: ${input.length} tokens, logits [${min.toFixed(2)}, ${max.toFixed(2)}] std ${std.toFixed(2)}, ` +
                        `max diff after changing token 2: ${diff.toFixed(3)}`);
            } finally {
                void sequence.dispose();
            }
        });
    });
}

describe("tinyGguf: head_dim options", function () {
    this.timeout(120_000);

    it("writes head_dim 32 and 64 variants with distinct cached files", async function () {
        const a = await makeTinyModel({arch: "llama", nEmbd: 128, nHead: 4, nHeadKv: 2});
        const b = await makeTinyModel({arch: "llama", nEmbd: 128, nHead: 2, nHeadKv: 1});
        assert.notEqual(a, b);
        const gb = await readGguf(b);
        assert.equal(gb.metadata["llama.rope.dimension_count"], 64);
        assert.deepEqual(gb.tensors.find((t) => t.name === "blk.0.attn_v.weight")!.dims, [128, 64]);
    });
});
