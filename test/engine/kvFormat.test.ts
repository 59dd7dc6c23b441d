import assert from "node:assert/strict";
import {KvLogError} from "../../src/engine/errors.js";
import {mulberry32} from "../../src/engine/diagnostics/prng.js";
import {GgmlType, f16ToF32, f32ToF16} from "../../src/engine/kv/ggml.js";
import {decodeKvBlob, encodeKvBlob, expectedLayout} from "../../src/engine/kv/KvBlob.js";
import {ropeCache, rotateKRows, type RopeSpec} from "../../src/engine/kv/rope.js";
import {parseSeqState, sliceCells, writeStackedSeqState, type KvCells, type KvLayerData} from "../../src/engine/kv/seqState.js";

/** Model-free checks of the ggsq state format, the stored blob and the JS RoPE rotation. */

const shape = {nLayer: 3, nHeadKv: 2, headDimK: 8, headDimV: 8};

/** Synthetic f32 cells whose every value encodes (layer, cell, index), V transposed or not. */
function syntheticCells(nCells: number, vTrans: boolean, tag: number): KvCells {
    const nEmbd = shape.nHeadKv * shape.headDimK;
    const layers: KvLayerData[] = [];
    for (let l = 0; l < shape.nLayer; l++) {
        const k = new Float32Array(nCells * nEmbd);
        const v = new Float32Array(nCells * nEmbd);
        for (let c = 0; c < nCells; c++)
            for (let j = 0; j < nEmbd; j++) {
                k[c * nEmbd + j] = tag * 1e6 + l * 1e4 + c * 100 + j;
                // transposed: [nEmbd][nCells]
                v[vTrans ? j * nCells + c : c * nEmbd + j] = -(tag * 1e6 + l * 1e4 + c * 100 + j);
            }
        layers.push({
            kType: GgmlType.F32, kRowSize: 4 * nEmbd, k: new Uint8Array(k.buffer),
            vType: GgmlType.F32, vRowSize: 4 * nEmbd, vElSize: vTrans ? 4 : 0, nEmbdV: vTrans ? nEmbd : 0,
            v: new Uint8Array(v.buffer)
        });
    }
    return {nCells, vTrans, layers};
}

function kAt(cells: KvCells, l: number, c: number, j: number): number {
    const nEmbd = shape.nHeadKv * shape.headDimK;
    const layer = cells.layers[l]!;
    return new Float32Array(layer.k.slice().buffer)[c * nEmbd + j]!;
}

function vAt(cells: KvCells, l: number, c: number, j: number): number {
    const nEmbd = shape.nHeadKv * shape.headDimV;
    const layer = cells.layers[l]!;
    const v = new Float32Array(layer.v.slice().buffer);
    return cells.vTrans ? v[j * cells.nCells + c]! : v[c * nEmbd + j]!;
}

describe("KV state format (ggsq v3) and blob", function () {
    for (const vTrans of [true, false]) {
        it(`stacks parts back to back and parses them again (V ${vTrans ? "transposed" : "by row"})`, function () {
            const a = syntheticCells(3, vTrans, 1), b = syntheticCells(5, vTrans, 2);
            const state = writeStackedSeqState([{cells: a, tokens: [10, 11, 12]}, {cells: b, tokens: [20, 21, 22, 23, 24]}], 3, 1, 1);
            const parsed = parseSeqState(state);
            assert.deepEqual([...parsed.tokens], [10, 11, 12, 20, 21, 22, 23, 24]);
            assert.equal(parsed.nStream, 3);
            assert.equal(parsed.streamIndex, 1);
            assert.deepEqual([...parsed.positions], [0, 1, 2, 3, 4, 5, 6, 7]);
            assert.equal(parsed.cells.nCells, 8);
            assert.equal(parsed.cells.vTrans, vTrans);
            for (let l = 0; l < shape.nLayer; l++)
                for (let c = 0; c < 8; c++)
                    for (const j of [0, 7, 15]) {
                        const [src, sc] = c < 3 ? [a, c] : [b, c - 3];
                        assert.equal(kAt(parsed.cells, l, c, j), kAt(src, l, sc, j));
                        assert.equal(vAt(parsed.cells, l, c, j), vAt(src, l, sc, j));
                    }
            // slicing undoes the stacking, and re-writing gives the same bytes
            const back = sliceCells(parsed.cells, 3, 8);
            const again = writeStackedSeqState([{cells: back, tokens: [20, 21, 22, 23, 24]}], 3, 1, 1);
            assert.deepEqual(again, writeStackedSeqState([{cells: b, tokens: [20, 21, 22, 23, 24]}], 3, 1, 1));
        });
    }

    it("applies copyK per part and layer", function () {
        const a = syntheticCells(2, true, 1);
        const seen: number[] = [];
        const state = writeStackedSeqState([{cells: a, tokens: [1, 2], copyK: (l, src, dst) => { seen.push(l); dst.fill(0); }}], 1, 0, 0);
        assert.deepEqual(seen, [0, 1, 2]);
        assert.equal(kAt(parseSeqState(state).cells, 1, 1, 3), 0);
    });

    it("rejects truncated or trailing state bytes", function () {
        const state = writeStackedSeqState([{cells: syntheticCells(2, true, 1), tokens: [1, 2]}], 1, 0, 0);
        assert.throws(() => parseSeqState(state.subarray(0, state.length - 1)), (e: unknown) => e instanceof KvLogError && e.code === "KV_CORRUPT");
        const padded = new Uint8Array(state.length + 4);
        padded.set(state);
        assert.throws(() => parseSeqState(padded), (e: unknown) => e instanceof KvLogError && e.code === "KV_CORRUPT");
    });

    it("blob round trip; refuses another fingerprint, a flipped byte, a truncated blob", function () {
        const cells = syntheticCells(4, true, 3);
        const layout = expectedLayout("fp-a", shape, "f32", false);
        const blob = encodeKvBlob("fp-a", cells);
        const back = decodeKvBlob(blob, layout);
        assert.equal(back.nCells, 4);
        assert.deepEqual(back.layers[2]!.v, cells.layers[2]!.v);
        const is = (code: string) => (e: unknown) => e instanceof KvLogError && e.code === code;
        assert.throws(() => decodeKvBlob(blob, expectedLayout("fp-b", shape, "f32", false)), is("KV_FINGERPRINT_MISMATCH"));
        assert.throws(() => decodeKvBlob(blob, expectedLayout("fp-a", shape, "f16", false)), is("KV_FINGERPRINT_MISMATCH"));
        assert.throws(() => decodeKvBlob(blob, expectedLayout("fp-a", shape, "f32", true)), is("KV_FINGERPRINT_MISMATCH"));
        const flipped = Uint8Array.from(blob);
        flipped[flipped.length - 5]! ^= 1;
        assert.throws(() => decodeKvBlob(flipped, layout), is("KV_CORRUPT"));
        assert.throws(() => decodeKvBlob(blob.subarray(0, blob.length - 1), layout), is("KV_CORRUPT"));
        assert.throws(() => decodeKvBlob(blob.subarray(0, 20), layout), is("KV_CORRUPT"));
    });
});

describe("JS RoPE rotation of stored keys", function () {
    for (const type of ["norm", "neox"] as const) {
        const spec: RopeSpec = {type, nRot: 64, headDim: 64, nHeadKv: 2, freqBase: 10000, freqScale: 1};
        const random = mulberry32(type === "norm" ? 1 : 2);
        const nRows = 5;
        const values = Float32Array.from({length: nRows * 128}, () => random() * 4 - 2);

        it(`${type}: +d then -d returns the original (f32 within 1e-5)`, function () {
            const src = new Uint8Array(values.slice().buffer);
            const out = new Uint8Array(src.length);
            for (const d of [1, 37, 1000]) {
                rotateKRows(spec, GgmlType.F32, src, out, ropeCache(spec, d));
                assert.ok(maxDiff(new Float32Array(out.slice().buffer), values) > 1e-3, "rotation did nothing");
                rotateKRows(spec, GgmlType.F32, out, out, ropeCache(spec, -d));
                assert.ok(maxDiff(new Float32Array(out.slice().buffer), values) <= 1e-5);
            }
        });

        it(`${type}: rotating by a then b equals rotating by a + b; f16 within half-precision rounding`, function () {
            const src = new Uint8Array(values.slice().buffer);
            const ab = new Uint8Array(src.length), once = new Uint8Array(src.length);
            rotateKRows(spec, GgmlType.F32, src, ab, ropeCache(spec, 13));
            rotateKRows(spec, GgmlType.F32, ab, ab, ropeCache(spec, 29));
            rotateKRows(spec, GgmlType.F32, src, once, ropeCache(spec, 42));
            assert.ok(maxDiff(new Float32Array(ab.buffer), new Float32Array(once.buffer)) <= 1e-5);

            const h = new Uint16Array(values.length);
            for (let i = 0; i < values.length; i++)
                h[i] = f32ToF16(values[i]!);
            const hOut = new Uint8Array(h.byteLength);
            rotateKRows(spec, GgmlType.F16, new Uint8Array(h.buffer), hOut, ropeCache(spec, 42));
            const hv = new Uint16Array(hOut.buffer);
            const once32 = new Float32Array(once.buffer);
            let m = 0;
            for (let i = 0; i < hv.length; i++)
                m = Math.max(m, Math.abs(f16ToF32(hv[i]!) - once32[i]!));
            assert.ok(m <= 4e-3, `f16 rotation off by ${m}`);
        });
    }

    it("leaves dimensions beyond nRot untouched (partial rotary)", function () {
        const spec: RopeSpec = {type: "neox", nRot: 32, headDim: 64, nHeadKv: 1, freqBase: 10000, freqScale: 1};
        const v = Float32Array.from({length: 64}, (_, i) => i + 1);
        const out = new Float32Array(64);
        rotateKRows(spec, GgmlType.F32, new Uint8Array(v.buffer), new Uint8Array(out.buffer), ropeCache(spec, 5));
        assert.deepEqual([...out.subarray(32)], [...v.subarray(32)]);
        assert.notDeepEqual([...out.subarray(0, 32)], [...v.subarray(0, 32)]);
    });

    it("ropeCache(0) is the identity", function () {
        const spec: RopeSpec = {type: "norm", nRot: 16, headDim: 16, nHeadKv: 1, freqBase: 10000, freqScale: 1};
        const c = ropeCache(spec, 0);
        for (let i = 0; i < 16; i += 2) {
            assert.equal(c[i], 1);
            assert.equal(c[i + 1], 0);
        }
    });
});

function maxDiff(a: Float32Array, b: Float32Array): number {
    let m = 0;
    for (let i = 0; i < a.length; i++)
        m = Math.max(m, Math.abs(a[i]! - b[i]!));
    return m;
}
