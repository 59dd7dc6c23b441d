import crypto from "node:crypto";
import fs from "node:fs/promises";
import os from "node:os";
import type {Llama, LlamaContext, LlamaModel} from "node-llama-cpp";
import {HindsightError, KvLogError, ModelError} from "../errors.js";
import {isKvCacheType, kvCacheTypeToLlamaName, type KvCacheType} from "../kv/ggml.js";
import {readGgufHeader} from "../models/ggufHeader.js";
import {fileSha256} from "./fileHash.js";
import {gpuUnavailableError, isForcedGpu, supportedGpuBackends} from "./gpuSupport.js";
import {readModelShape, type ModelShape} from "./modelInfo.js";

import type {GpuChoice} from "../options.js";

export type {GpuChoice};

export interface ModelRuntimeOptions {
    /** Path of a GGUF model file. */
    modelPath: string;
    /** GPU backend. `"auto"` picks CUDA, Vulkan or Metal when present and falls back to CPU. Defaults to `"auto"`. */
    gpu: GpuChoice;
    /** CPU threads. Defaults to `HINDSIGHT_THREADS` when set, else the number of cores (more threads than cores makes llama.cpp much slower). */
    threads: number;
    /** KV cache type for both K and V; pinned because saved logs are only valid for the type they were made with. Defaults to `"f16"`. */
    kvType: KvCacheType;
    /** Flash attention, pinned (never "auto") because it changes the saved KV layout. Defaults to `false`; always `true` for q8_0/q4_0 KV (llama.cpp needs it for a quantized V cache). */
    flashAttention: boolean;
    /** Context size of generation contexts. Defaults to the smaller of 8192 and the model's training context. */
    contextSize: number;
    /** Where the model file's hash is cached. Defaults to the user's cache folder. */
    hashCacheFile: string;
}

/** Everything a stored KV log must match to be loaded: refused otherwise, before llama.cpp sees it. */
export interface FingerprintParts {
    modelSha256: string;
    architecture: string;
    nLayer: number;
    nHeadKv: number;
    headDimK: number;
    headDimV: number;
    kvType: KvCacheType;
    flashAttention: boolean;
    binding: string;
    format: number;
}

export interface Fingerprint {
    /** Short stable id: the first 24 hex digits of the SHA-256 of the parts. */
    id: string;
    parts: FingerprintParts;
}

/** Bumped when the stored KV blob format or the way logs are encoded changes. */
export const KV_FORMAT_VERSION = 1;

async function bindingVersion(): Promise<string> {
    try {
        const pkgUrl = new URL("../package.json", import.meta.resolve("node-llama-cpp"));
        const pkg = JSON.parse(await fs.readFile(pkgUrl, "utf8")) as {version: string};
        return `node-llama-cpp@${pkg.version}`;
    } catch {
        return "node-llama-cpp@unknown";
    }
}

export function makeFingerprint(parts: FingerprintParts): Fingerprint {
    const canonical = JSON.stringify(Object.keys(parts).sort().map((k) => [k, parts[k as keyof FingerprintParts]]));
    return {id: crypto.createHash("sha256").update(canonical).digest("hex").slice(0, 24), parts};
}

/**
 * Owns the llama.cpp backend and one loaded model, with the settings that saved KV logs depend on pinned.
 * Ownership chain as in node-llama-cpp: ModelRuntime -> contexts it creates; `dispose()` disposes all of them.
 */
/** `HINDSIGHT_THREADS`, when it holds a positive integer (for machines shared by several llama.cpp processes). */
function threadsFromEnv(): number | undefined {
    const n = Number(process.env.HINDSIGHT_THREADS);
    return Number.isInteger(n) && n > 0 ? n : undefined;
}

export class ModelRuntime {
    public readonly llama: Llama;
    public readonly model: LlamaModel;
    public readonly shape: ModelShape;
    public readonly fingerprint: Fingerprint;
    public readonly options: Readonly<ModelRuntimeOptions>;
    /** "cpu" or the GPU backend in use. */
    public readonly device: string;
    private readonly contexts = new Set<LlamaContext>();
    private isDisposed = false;

    private constructor(llama: Llama, model: LlamaModel, shape: ModelShape, fingerprint: Fingerprint, options: ModelRuntimeOptions) {
        this.llama = llama;
        this.model = model;
        this.shape = shape;
        this.fingerprint = fingerprint;
        this.options = options;
        this.device = llama.gpu === false ? "cpu" : llama.gpu;
    }

    public static async load(options: Partial<ModelRuntimeOptions> & {modelPath: string}): Promise<ModelRuntime> {
        const kvType = options.kvType ?? "f16";
        if (!isKvCacheType(kvType))
            throw new HindsightError("INVALID_ARGUMENT", `Unknown KV cache type "${String(kvType)}" (use f16, f32, q8_0 or q4_0).`);
        const threads = options.threads ?? threadsFromEnv() ?? Math.max(1, os.availableParallelism());
        const gpu = options.gpu ?? "auto";

        try {
            const stat = await fs.stat(options.modelPath);
            if (!stat.isFile())
                throw new Error("not a file");
        } catch {
            throw new ModelError("MODEL_NOT_FOUND",
                `No model file at ${options.modelPath}. Download one with \`hindsight model pull\` or pass --model PATH to a GGUF file.`);
        }
        // The whole header and metadata are checked before llama.cpp sees the file: a truncated or crafted GGUF is
        // one clear MODEL_INVALID here, not a failure (or a crash) inside the native loader.
        await readGgufHeader(options.modelPath);

        // A backend asked for by name that this machine lacks is refused here, in one sentence: node-llama-cpp would
        // otherwise try to build llama.cpp from source for it (outside Electron), which takes minutes and fails.
        if (isForcedGpu(gpu) && !(await supportedGpuBackends()).includes(gpu))
            throw gpuUnavailableError(gpu);
        const {getLlama} = await import("node-llama-cpp");
        let llama: Llama;
        try {
            llama = await getLlama({
                gpu: gpu === "cpu" ? false : gpu,
                maxThreads: threads,
                logLevel: "error" as never,
                logger: () => {}
            });
        } catch (err) {
            if (gpu !== "auto" && gpu !== "cpu")
                throw new ModelError("GPU_UNAVAILABLE",
                    `The ${gpu} GPU backend could not start on this machine (${(err as Error).message}). Set the GPU option to "auto" or "cpu".`, {cause: err});
            throw new ModelError("MODEL_LOAD_FAILED", `llama.cpp could not start: ${(err as Error).message}`, {cause: err});
        }

        let model: LlamaModel;
        try {
            model = await llama.loadModel({modelPath: options.modelPath, gpuLayers: gpu === "cpu" ? 0 : "auto"});
        } catch (err) {
            await llama.dispose();
            throw new ModelError("MODEL_LOAD_FAILED",
                `The model ${options.modelPath} could not be loaded (${(err as Error).message}). Check that the file is complete, or pull it again.`, {cause: err});
        }

        try {
            const shape = await readModelShape(options.modelPath, model.fileInfo as never);
            if ((kvType === "q8_0" || kvType === "q4_0") && shape.headDimK % 64 !== 0)
                throw new KvLogError("KV_TYPE_UNSUPPORTED",
                    `The ${kvType} KV cache cannot be used with "${shape.name}": its head size ${shape.headDimK} is not a multiple of 64, and llama.cpp crashes when it moves such keys. Use f16.`);

            const resolved: ModelRuntimeOptions = {
                modelPath: options.modelPath,
                gpu,
                threads,
                kvType,
                // llama.cpp refuses a quantized V cache without flash attention ("Failed to create context"),
                // so quantized KV pins it on; f16/f32 keep it off by default (exact on CPU)
                flashAttention: kvType === "q8_0" || kvType === "q4_0" ? true : options.flashAttention ?? false,
                contextSize: options.contextSize ?? Math.min(8192, shape.trainContextSize),
                hashCacheFile: options.hashCacheFile ?? ""
            };
            const modelSha256 = await fileSha256(options.modelPath, options.hashCacheFile || undefined);
            const fingerprint = makeFingerprint({
                modelSha256,
                architecture: shape.architecture,
                nLayer: shape.nLayer,
                nHeadKv: shape.nHeadKv,
                headDimK: shape.headDimK,
                headDimV: shape.headDimV,
                kvType,
                flashAttention: resolved.flashAttention,
                binding: await bindingVersion(),
                format: KV_FORMAT_VERSION
            });
            return new ModelRuntime(llama, model, shape, fingerprint, resolved);
        } catch (err) {
            await model.dispose();
            await llama.dispose();
            throw err;
        }
    }

    /** A context with the pinned KV settings. Disposed with the runtime. */
    public async createContext(options: {sequences?: number, contextSize?: number} = {}): Promise<LlamaContext> {
        this.ensureNotDisposed();
        const name = kvCacheTypeToLlamaName[this.options.kvType];
        const context = await this.model.createContext({
            contextSize: options.contextSize ?? this.options.contextSize,
            sequences: options.sequences ?? 1,
            flashAttention: this.options.flashAttention,
            threads: this.options.threads,
            experimentalKvCacheKeyType: name,
            experimentalKvCacheValueType: name,
            ignoreMemorySafetyChecks: false
        });
        this.contexts.add(context);
        context.onDispose.createListener(() => this.contexts.delete(context));
        return context;
    }

    /** True when keys of this runtime's KV type can be moved in JS (f16/f32); quantized keys are moved by llama.cpp. */
    public get canRotateKeysInJs(): boolean {
        return this.options.kvType === "f16" || this.options.kvType === "f32";
    }

    public get disposed(): boolean {
        return this.isDisposed;
    }

    public async dispose(): Promise<void> {
        if (this.isDisposed)
            return;
        this.isDisposed = true;
        for (const context of [...this.contexts])
            await context.dispose();
        await this.model.dispose();
        await this.llama.dispose();
    }

    public async [Symbol.asyncDispose](): Promise<void> {
        await this.dispose();
    }

    private ensureNotDisposed(): void {
        if (this.isDisposed)
            throw new HindsightError("INTERNAL", "The model runtime was already disposed.");
    }
}
