import {f16ToF32, f32ToF16, GgmlType} from "./ggml.js";

/**
 * Rotary position embedding of stored keys, done in JS while cells are copied.
 *
 * llama.cpp keeps keys already rotated for their position. Rotations compose (rotating by `p` then by `d` is
 * rotating by `p + d`), so moving a cell from position `p` to `p + d` is one more rotation by `d`: exactly what
 * llama.cpp's own K-shift does. The angles are computed the way ggml's CPU kernel computes them (float32, the
 * same recurrence), so the result matches a K-shift done inside llama.cpp to float rounding.
 */
export interface RopeSpec {
    /** "norm": rotate adjacent pairs (Llama); "neox": rotate pairs half a head apart (Qwen2). */
    type: "norm" | "neox";
    /** Dimensions rotated per head (`rope.dimension_count`); the rest pass through. */
    nRot: number;
    /** Values per head in K. */
    headDim: number;
    /** KV heads per cell. */
    nHeadKv: number;
    freqBase: number;
    /** 1 / linear scaling factor. */
    freqScale: number;
    /** Per-pair frequency divisors (Llama 3 `rope_freqs`), or null. */
    freqFactors?: Float32Array | null;
}

const f = Math.fround;

/** cos/sin pairs for a rotation by `delta` positions, as `ggml_rope_cache_init` (no YaRN). */
export function ropeCache(spec: RopeSpec, delta: number): Float32Array {
    const cache = new Float32Array(spec.nRot);
    const thetaScale = f(Math.pow(f(spec.freqBase), f(-2 / spec.nRot)));
    const freqScale = f(spec.freqScale);
    let theta = f(delta);
    for (let i0 = 0; i0 < spec.nRot; i0 += 2) {
        const ff = spec.freqFactors?.[i0 / 2] ?? 1;
        const angle = f(freqScale * f(theta / ff));
        cache[i0] = Math.cos(angle);
        cache[i0 + 1] = Math.sin(angle);
        theta = f(theta * thetaScale);
    }
    return cache;
}

/**
 * Rotates every K row of `src` (rows of `nHeadKv * headDim` values, f32 or f16) by the rotation in `cache`,
 * writing into `dst` (same size; may be the same memory).
 */
export function rotateKRows(spec: RopeSpec, kType: number, src: Uint8Array, dst: Uint8Array, cache: Float32Array): void {
    const rowValues = spec.nHeadKv * spec.headDim;
    const half = spec.nRot / 2;
    const neox = spec.type === "neox";

    if (kType === GgmlType.F32) {
        if (src.byteOffset % 4 !== 0 || dst.byteOffset % 4 !== 0) {
            const tmp = new Uint8Array(src);
            const out = new Uint8Array(dst.byteLength);
            rotateKRows(spec, kType, tmp, out, cache);
            dst.set(out);
            return;
        }
        const s = new Float32Array(src.buffer, src.byteOffset, src.byteLength / 4);
        const d = new Float32Array(dst.buffer, dst.byteOffset, dst.byteLength / 4);
        if (d.buffer !== s.buffer || d.byteOffset !== s.byteOffset)
            d.set(s);
        const nRows = s.length / rowValues;
        for (let row = 0; row < nRows; row++)
            for (let h = 0; h < spec.nHeadKv; h++) {
                const base = row * rowValues + h * spec.headDim;
                for (let i0 = 0; i0 < spec.nRot; i0 += 2) {
                    const a = neox ? base + i0 / 2 : base + i0;
                    const b = neox ? a + half : a + 1;
                    const cos = cache[i0]!, sin = cache[i0 + 1]!;
                    const x0 = s[a]!, x1 = s[b]!;
                    d[a] = x0 * cos - x1 * sin;
                    d[b] = x0 * sin + x1 * cos;
                }
            }
        return;
    }

    if (kType === GgmlType.F16) {
        const aligned = src.byteOffset % 2 === 0 && dst.byteOffset % 2 === 0;
        const s = aligned ? new Uint16Array(src.buffer, src.byteOffset, src.byteLength / 2) : new Uint16Array(new Uint8Array(src).buffer);
        const d = aligned ? new Uint16Array(dst.buffer, dst.byteOffset, dst.byteLength / 2) : new Uint16Array(s.length);
        if (d.buffer !== s.buffer || d.byteOffset !== s.byteOffset)
            d.set(s);
        const nRows = s.length / rowValues;
        for (let row = 0; row < nRows; row++)
            for (let h = 0; h < spec.nHeadKv; h++) {
                const base = row * rowValues + h * spec.headDim;
                for (let i0 = 0; i0 < spec.nRot; i0 += 2) {
                    const a = neox ? base + i0 / 2 : base + i0;
                    const b = neox ? a + half : a + 1;
                    const cos = cache[i0]!, sin = cache[i0 + 1]!;
                    const x0 = f16ToF32(s[a]!), x1 = f16ToF32(s[b]!);
                    d[a] = f32ToF16(x0 * cos - x1 * sin);
                    d[b] = f32ToF16(x0 * sin + x1 * cos);
                }
            }
        if (!aligned)
            dst.set(new Uint8Array(d.buffer));
        return;
    }

    throw new RangeError(`Keys of ggml type ${kType} cannot be rotated in place`);
}
