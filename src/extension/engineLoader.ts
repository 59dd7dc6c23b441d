/**
 * Lazy access to the engine (STYLE.md point 5): nothing native is loaded until a feature needs it, and a module
 * that cannot load becomes a typed "unavailable, because ..." result instead of an exception during activation.
 */
export type EngineModule = typeof import("./engineModule.js");

export type EngineAvailability = {available: true, engine: EngineModule} | {available: false, reason: string, cause: unknown};

let pending: Promise<EngineAvailability> | undefined;

/** Loads the engine module once (retried after a failure). The build maps this import to dist/engine.mjs. */
export function loadEngineModule(): Promise<EngineAvailability> {
    pending ??= import("./engineModule.js").then(
        (engine): EngineAvailability => ({available: true, engine}),
        (cause: unknown): EngineAvailability => {
            pending = undefined;
            const detail = cause instanceof Error ? cause.message : String(cause);
            return {available: false, cause, reason: `Hindsight's engine could not be loaded on this machine (${detail.split("\n")[0]}).`};
        });
    return pending;
}

/** The engine module, or an `EngineUnavailableError`. */
export async function requireEngineModule(): Promise<EngineModule> {
    const result = await loadEngineModule();
    if (!result.available)
        throw new EngineUnavailableError(result.reason, result.cause);
    return result.engine;
}

export class EngineUnavailableError extends Error {
    public readonly code = "ENGINE_UNAVAILABLE";

    public constructor(message: string, cause: unknown) {
        super(message, {cause});
        this.name = "EngineUnavailableError";
    }
}

/** The stable `code` of an engine error (checked by shape: the engine lives in another bundle, so `instanceof` is not used). */
export function errorCode(err: unknown): string | undefined {
    if (typeof err === "object" && err !== null && "code" in err && typeof err.code === "string")
        return err.code;
    return undefined;
}

export function errorMessage(err: unknown): string {
    return err instanceof Error ? err.message : String(err);
}
