/** The ggml tensor types a KV cache can hold, and half-precision conversion. */
import {GgmlType as LlamaGgmlType} from "node-llama-cpp";
import type {KvCacheType} from "../options.js";

/** node-llama-cpp's `GgmlType` numbers for the types a KV cache can hold, as plain numbers (KV blobs store numbers). */
export const GgmlType: Readonly<Record<"F32" | "F16" | "Q4_0" | "Q8_0", number>> = {
    F32: LlamaGgmlType.F32,
    F16: LlamaGgmlType.F16,
    Q4_0: LlamaGgmlType.Q4_0,
    Q8_0: LlamaGgmlType.Q8_0
};

export type {KvCacheType};

export const kvCacheTypeToGgml: Record<KvCacheType, number> = {
    f32: GgmlType.F32,
    f16: GgmlType.F16,
    q8_0: GgmlType.Q8_0,
    q4_0: GgmlType.Q4_0
};

/** The names node-llama-cpp accepts for its KV cache type options. */
export const kvCacheTypeToLlamaName: Record<KvCacheType, "F32" | "F16" | "Q8_0" | "Q4_0"> = {
    f32: "F32",
    f16: "F16",
    q8_0: "Q8_0",
    q4_0: "Q4_0"
};

export function isKvCacheType(value: string): value is KvCacheType {
    return value in kvCacheTypeToGgml;
}

/** Bytes of one row of `n` values, as `ggml_row_size`. */
export function ggmlRowSize(type: number, n: number): number {
    switch (type) {
        case GgmlType.F32: return 4 * n;
        case GgmlType.F16: return 2 * n;
        case GgmlType.Q8_0: return (n / 32) * 34;
        case GgmlType.Q4_0: return (n / 32) * 18;
        default: throw new RangeError(`Unsupported ggml type ${type}`);
    }
}

export function ggmlTypeName(type: number): string {
    const name = (LlamaGgmlType as unknown as Record<number, string | undefined>)[type];
    return name != null ? name.toLowerCase() : `type ${type}`;
}

const f16Table = new Float32Array(65536);
for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    if (exp === 0)
        f16Table[h] = sign * frac * 2 ** -24;
    else if (exp === 31)
        f16Table[h] = frac === 0 ? sign * Infinity : NaN;
    else
        f16Table[h] = sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

export function f16ToF32(h: number): number {
    return f16Table[h]!;
}

const convBuf = new Float32Array(1);
const convInt = new Uint32Array(convBuf.buffer);

/** float -> IEEE half with round-to-nearest-even, as ggml's `GGML_FP32_TO_FP16` on CPU. */
export function f32ToF16(value: number): number {
    convBuf[0] = value;
    const x = convInt[0]!;
    const sign = (x >>> 16) & 0x8000;
    const exp = (x >>> 23) & 0xff;
    let mant = x & 0x7fffff;

    if (exp === 0xff)
        return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0);

    const e = exp - 127 + 15;
    if (e >= 31)
        return sign | 0x7c00;
    if (e <= 0) {
        if (e < -10)
            return sign;
        mant |= 0x800000;
        const shift = 14 - e;
        let half = mant >>> shift;
        const rem = mant & ((1 << shift) - 1);
        const mid = 1 << (shift - 1);
        if (rem > mid || (rem === mid && (half & 1)))
            half++;
        return sign | half;
    }
    let half = (e << 10) | (mant >>> 13);
    const rem = mant & 0x1fff;
    if (rem > 0x1000 || (rem === 0x1000 && (half & 1)))
        half++;
    return sign | half;
}
