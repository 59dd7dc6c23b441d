import path from "node:path";
import {ModelError} from "../errors.js";
import {readGgufHeader} from "../models/ggufHeader.js";
import {fileSha256} from "../runtime/fileHash.js";
import type {ModelRuntime} from "../runtime/ModelRuntime.js";
import {Embedder} from "./Retriever.js";

/** A dedicated embedding model, checked and hashed. */
export interface EmbeddingModelFile {
    path: string;
    sha256: string;
}

/** Checks that the embedding model is a GGUF file (its header, as `model pull` does) and hashes it (cached), before anything loads. */
export async function checkEmbeddingModel(modelPath: string): Promise<EmbeddingModelFile> {
    const absolute = path.resolve(modelPath);
    try {
        await readGgufHeader(absolute);
    } catch (err) {
        if (err instanceof ModelError)
            throw new ModelError(err.code === "MODEL_NOT_FOUND" ? "MODEL_NOT_FOUND" : "MODEL_INVALID",
                `The embedding model is unusable: ${err.message} Give a .gguf embedding model, or leave the embedding model unset.`, {cause: err});
        throw err;
    }
    return {path: absolute, sha256: await fileSha256(absolute)};
}

/** The embedding space of an engine's vectors: the embedding model's file hash (the loaded model's by default). */
export function embeddingSpaceOf(runtime: ModelRuntime, embeddingModel: EmbeddingModelFile | null): string {
    return `emb-${(embeddingModel?.sha256 ?? runtime.fingerprint.parts.modelSha256).slice(0, 16)}`;
}

/** Embeddings from the loaded model's own embedding context, or from a dedicated model loaded for them alone. */
export async function loadEmbedder(runtime: ModelRuntime, embeddingModel: EmbeddingModelFile | null): Promise<Embedder> {
    const threads = runtime.options.threads;
    const space = embeddingSpaceOf(runtime, embeddingModel);
    if (embeddingModel == null) {
        const context = await runtime.model.createEmbeddingContext({contextSize: 512, threads});
        return new Embedder(context, space, 500);
    }
    const model = await runtime.llama.loadModel({modelPath: embeddingModel.path, gpuLayers: runtime.device === "cpu" ? 0 : "auto"})
        .catch((err: unknown) => {
            throw new ModelError("MODEL_LOAD_FAILED", `The embedding model ${embeddingModel.path} could not be loaded. ` +
                "Check the file, or leave the embedding model unset to use the chat model's own embeddings.", {cause: err});
        });
    const context = await model.createEmbeddingContext({contextSize: Math.min(512, model.trainContextSize), threads});
    return new Embedder(context, space, Math.min(500, model.trainContextSize - 8), model);
}
