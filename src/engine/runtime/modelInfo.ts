import fs from "node:fs/promises";
import {ModelError} from "../errors.js";
import type {RopeSpec} from "../kv/rope.js";

/** The shape facts of a model that KV logs depend on, read from its GGUF metadata. */
export interface ModelShape {
    architecture: string;
    name: string;
    nLayer: number;
    nEmbd: number;
    nHead: number;
    nHeadKv: number;
    headDimK: number;
    headDimV: number;
    trainContextSize: number;
    rope: RopeSpec & {freqFactors: Float32Array | null};
}

/**
 * Architectures whose KV cache is a plain full-attention cache with RoPE keys: every cell of every layer is kept,
 * so a stored log holds everything the model attended to. Sliding-window and recurrent/hybrid models keep only
 * part of their state and are refused.
 */
const ropeTypeByArch: Record<string, "norm" | "neox"> = {
    llama: "norm",
    mistral: "norm",
    granite: "norm",
    qwen2: "neox",
    qwen3: "neox",
    qwen2moe: "neox",
    qwen3moe: "neox"
};

const recurrentArchs = /mamba|rwkv|jamba|falcon-h1|lfm2|plamo2|granitehybrid|nemotron_h|qwen3next|minimax/;

type Metadata = Record<string, unknown>;

function get(meta: Metadata, path: string): unknown {
    let cur: unknown = meta;
    for (const part of path.split(".")) {
        if (cur == null || typeof cur !== "object")
            return undefined;
        cur = (cur as Record<string, unknown>)[part];
    }
    return cur;
}

function num(meta: Metadata, path: string): number | undefined {
    const v = get(meta, path);
    return typeof v === "number" ? v : typeof v === "bigint" ? Number(v) : undefined;
}

interface TensorInfoLike {
    name: string;
    dimensions: readonly (number | bigint)[];
    ggmlType: number;
    fileOffset?: number | bigint;
}

/** Reads the shape facts and refuses a model whose KV cannot be logged, with the reason. */
export async function readModelShape(modelPath: string, fileInfo: {metadata: unknown, tensorInfo?: readonly TensorInfoLike[]}): Promise<ModelShape> {
    const meta = fileInfo.metadata as Metadata;
    const str = (v: unknown, fallback: string) => typeof v === "string" ? v : fallback;
    const arch = str(get(meta, "general.architecture"), "");
    const name = str(get(meta, "general.name"), arch);
    const a = (get(meta, arch) ?? {}) as Metadata;

    if (recurrentArchs.test(arch))
        throw new ModelError("MODEL_UNSUPPORTED",
            `The model "${name}" (${arch}) is recurrent or hybrid: its state is not a per-token KV cache, so past sessions cannot be stored as KV logs. Choose a full-attention model such as Qwen2.5-Coder or Llama.`);
    if (num(a, "attention.sliding_window") != null)
        throw new ModelError("MODEL_UNSUPPORTED",
            `The model "${name}" (${arch}) uses sliding-window attention: it keeps only part of its KV cache, so KV logs would lose context. Choose a full-attention model such as Qwen2.5-Coder or Llama.`);
    const ropeType = ropeTypeByArch[arch];
    if (ropeType == null)
        throw new ModelError("MODEL_UNSUPPORTED",
            `The model architecture "${arch}" is not supported for KV logs yet (supported: ${Object.keys(ropeTypeByArch).join(", ")}). Choose a Qwen2.5-Coder or Llama model.`);

    const scalingType = get(a, "rope.scaling.type");
    if (scalingType != null && scalingType !== "none" && scalingType !== "linear")
        throw new ModelError("MODEL_UNSUPPORTED",
            `The model "${name}" uses ${str(scalingType, "an unknown")} RoPE scaling, which KV logs do not support yet. Choose a model without it.`);

    const nEmbd = num(a, "embedding_length");
    const nLayer = num(a, "block_count");
    const nHead = num(a, "attention.head_count");
    if (nEmbd == null || nLayer == null || nHead == null)
        throw new ModelError("MODEL_INVALID", `The model file ${modelPath} lacks its ${arch} shape metadata.`);
    const nHeadKv = num(a, "attention.head_count_kv") ?? nHead;
    const headDimK = num(a, "attention.key_length") ?? nEmbd / nHead;
    const headDimV = num(a, "attention.value_length") ?? nEmbd / nHead;
    const nRot = num(a, "rope.dimension_count") ?? headDimK;
    const factor = num(a, "rope.scaling.factor");
    const freqScale = scalingType === "linear" && factor != null && factor > 0 ? 1 / factor : 1;

    return {
        architecture: arch,
        name,
        nLayer,
        nEmbd,
        nHead,
        nHeadKv,
        headDimK,
        headDimV,
        trainContextSize: num(a, "context_length") ?? 4096,
        rope: {
            type: ropeType,
            nRot,
            headDim: headDimK,
            nHeadKv,
            freqBase: num(a, "rope.freq_base") ?? 10000,
            freqScale,
            freqFactors: await readFreqFactors(modelPath, fileInfo.tensorInfo ?? [])
        }
    };
}

/** Llama 3 style models store per-dimension RoPE frequency factors as an f32 tensor. */
async function readFreqFactors(modelPath: string, tensors: readonly TensorInfoLike[]): Promise<Float32Array | null> {
    const t = tensors.find((x) => x.name === "rope_freqs.weight");
    if (t == null)
        return null;
    if (t.ggmlType !== 0 || t.fileOffset == null)
        throw new ModelError("MODEL_UNSUPPORTED", "The model's RoPE frequency factors are not stored as f32, which KV logs do not support.");
    const n = Number(t.dimensions[0]);
    const handle = await fs.open(modelPath, "r");
    try {
        const buf = Buffer.alloc(n * 4);
        await handle.read(buf, 0, buf.length, Number(t.fileOffset));
        return new Float32Array(buf.buffer, buf.byteOffset, n).slice();
    } finally {
        await handle.close();
    }
}
