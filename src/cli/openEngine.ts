import path from "node:path";
import {defaults, gpuChoices, HindsightEngine, HindsightError, isOneOf, kvCacheTypes, LogStore, ModelError, ModelRuntime, type GpuChoice}
    from "../engine/index.js";
import {optInt, optString, type ParsedArgs} from "./args.js";
import type {CliContext} from "./CliContext.js";

/** `--gpu`, else `HINDSIGHT_GPU`, else the default (`auto`), checked against the backends the engine knows. */
export function gpuOption(args: ParsedArgs): GpuChoice {
    const gpu = optString(args, "gpu") ?? (process.env.HINDSIGHT_GPU?.trim() || defaults.gpu);
    if (!isOneOf(gpuChoices, gpu))
        throw new HindsightError("INVALID_ARGUMENT", `--gpu must be one of ${gpuChoices.join(", ")} (got "${gpu}").`);
    return gpu;
}

/** Loads the model named by --model / HINDSIGHT_MODEL with the CLI's --gpu and --kv-type options. */
export async function openRuntime(ctx: CliContext, args: ParsedArgs): Promise<ModelRuntime> {
    if (ctx.modelPath == null)
        throw new ModelError("MODEL_NOT_FOUND",
            "No model given. Pass --model PATH to a GGUF file (or set HINDSIGHT_MODEL), or fetch one with `hindsight model pull`.");
    const gpu = gpuOption(args);
    const kvType = optString(args, "kv-type") ?? defaults.kvType;
    if (!isOneOf(kvCacheTypes, kvType))
        throw new HindsightError("INVALID_ARGUMENT", `--kv-type must be one of ${kvCacheTypes.join(", ")}.`);
    const contextSize = optString(args, "context-size");
    const threads = optString(args, "threads") == null ? undefined : optInt(args, "threads", 1, {min: 1, max: 1024});
    ctx.info(`Loading ${path.basename(ctx.modelPath)}...`);
    return ModelRuntime.load({
        modelPath: path.resolve(ctx.modelPath),
        gpu,
        kvType,
        contextSize: contextSize == null ? undefined : Number(contextSize),
        threads
    });
}

export async function openStore(ctx: CliContext): Promise<LogStore> {
    return LogStore.open(ctx.storeDir);
}

/** Runs `job` with a loaded model, the store and the engine, and disposes all of them after. */
export async function withEngine<T>(ctx: CliContext, args: ParsedArgs, job: (engine: HindsightEngine) => Promise<T>): Promise<T> {
    const store = await openStore(ctx);
    try {
        const runtime = await openRuntime(ctx, args);
        try {
            const embeddingModelPath = optString(args, "embedding-model") ?? process.env.HINDSIGHT_EMBEDDING_MODEL;
            const engine = await HindsightEngine.create(runtime, store, {embeddingModelPath: embeddingModelPath || undefined});
            try {
                return await job(engine);
            } finally {
                await engine.dispose();
            }
        } finally {
            await runtime.dispose();
        }
    } finally {
        store.close();
    }
}
