import {HindsightError, isOneOf, kvCacheTypes, ModelError, ModelRuntime, verifyKv, type KvCacheType, type VerifyKvResult} from "../../engine/index.js";
import {optInt, optString, type ParsedArgs} from "../args.js";
import type {CliContext, CommandResult} from "../CliContext.js";
import {gpuOption} from "../openEngine.js";

/** Loads the model named by --model / HINDSIGHT_MODEL with pinned KV settings (shared by verify-kv and bench). */
export async function loadCliRuntime(ctx: CliContext, args: ParsedArgs, defaults: {kvType: KvCacheType, contextSize?: number}): Promise<ModelRuntime> {
    const kvType = optString(args, "kv-type") ?? defaults.kvType;
    if (!isOneOf(kvCacheTypes, kvType))
        throw new HindsightError("INVALID_ARGUMENT", `--kv-type must be one of ${kvCacheTypes.join(", ")} (got "${kvType}").`);
    if (ctx.modelPath == null)
        throw new ModelError("MODEL_NOT_FOUND",
            "No model given. Pass --model PATH to a GGUF file (or set HINDSIGHT_MODEL), or download one with `hindsight model pull`.");
    const gpu = gpuOption(args);
    const threads = optString(args, "threads") == null ? undefined : optInt(args, "threads", 1, {min: 1, max: 1024});
    return ModelRuntime.load({
        modelPath: ctx.modelPath,
        kvType,
        gpu,
        ...(threads != null ? {threads} : {}),
        ...(defaults.contextSize != null ? {contextSize: defaults.contextSize} : {})
    });
}

function fmt(x: number): string {
    return x === 0 ? "0" : x.toExponential(2);
}

/**
 * `hindsight verify-kv [--json] [--kv-type f16|f32|q8_0|q4_0] [--gpu auto|cuda|vulkan|metal|cpu] [--threads N]`: checks stacked KV logs
 * against an in-memory reference on the loaded model. Exit code 2 when the check fails.
 */
export async function verifyKvCommand(ctx: CliContext, args: ParsedArgs): Promise<CommandResult> {
    if (args.positionals.length > 0)
        throw new HindsightError("INVALID_ARGUMENT", `Unexpected argument "${args.positionals[0]}" after \`verify-kv\`.`);
    const runtime = await loadCliRuntime(ctx, args, {kvType: "f16"});
    let result: VerifyKvResult;
    try {
        ctx.info(`Checking stacked KV logs on ${runtime.shape.name} (${runtime.options.kvType} KV, ${runtime.device})...`);
        result = await verifyKv(runtime, {signal: ctx.signal});
    } finally {
        await runtime.dispose();
    }
    if (!result.passed) {
        // main() sets process.exitCode from its return value after the command returns; override it at exit
        process.exitCode = 2;
        process.once("exit", () => { process.exitCode = 2; });
    }
    const text = [
        `max |Δlogit| vs in-memory reference: ${fmt(result.maxAbsDiff)} (single log ${fmt(result.singleDiff)}, ${result.nLogs} stacked ${fmt(result.stackDiff)}, ${result.stackPath})`,
        `noise floor (llama.cpp save/load of the same cells): ${fmt(result.noiseFloor)}`,
        `context effect (logs encoded without their earlier context): ${fmt(result.contextEffect)}`,
        `argmax equal: ${result.argmaxEqual ? "yes" : "no"}`,
        result.passed ? "PASSED" : "FAILED: stacked KV logs do not reproduce the in-memory logits on this model and settings."
    ].join("\n");
    return {json: result, text};
}
