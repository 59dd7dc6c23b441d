/**
 * Named errors of the engine. Every error a user can cause or meet carries a stable `code`
 * (a string union, never parsed from a message) and one clear sentence that says what to do next.
 * Hosts (CLI, VS Code) choose their UI by `code`; the detail goes to the log through `cause`.
 */
export type HindsightErrorCode =
    | "MODEL_NOT_FOUND"
    | "MODEL_INVALID"
    | "MODEL_UNSUPPORTED"
    | "MODEL_LOAD_FAILED"
    | "GPU_UNAVAILABLE"
    | "KV_TYPE_UNSUPPORTED"
    | "KV_FINGERPRINT_MISMATCH"
    | "KV_CORRUPT"
    | "STORE_UNAVAILABLE"
    | "STORE_CORRUPT"
    | "LOG_NOT_FOUND"
    | "PROMPT_TOO_LONG"
    | "INVALID_ARGUMENT"
    | "DOWNLOAD_FAILED"
    | "ABORTED"
    | "DISPOSED"
    | "INTERNAL";

export class HindsightError extends Error {
    public readonly code: HindsightErrorCode;

    public constructor(code: HindsightErrorCode, message: string, options?: {cause?: unknown}) {
        super(message, options);
        this.name = "HindsightError";
        this.code = code;
    }
}

/** The model file is missing or is not a GGUF model. */
export class ModelError extends HindsightError {
    public constructor(code: "MODEL_NOT_FOUND" | "MODEL_INVALID" | "MODEL_UNSUPPORTED" | "MODEL_LOAD_FAILED" | "GPU_UNAVAILABLE",
        message: string, options?: {cause?: unknown}) {
        super(code, message, options);
        this.name = "ModelError";
    }
}

/** A stored KV log cannot be used with the loaded model; it is refused before it reaches llama.cpp. */
export class KvLogError extends HindsightError {
    public constructor(code: "KV_TYPE_UNSUPPORTED" | "KV_FINGERPRINT_MISMATCH" | "KV_CORRUPT", message: string, options?: {cause?: unknown}) {
        super(code, message, options);
        this.name = "KvLogError";
    }
}

/** The log store (LanceDB) cannot be opened, read or written. */
export class StoreError extends HindsightError {
    public constructor(code: "STORE_UNAVAILABLE" | "STORE_CORRUPT" | "LOG_NOT_FOUND", message: string, options?: {cause?: unknown}) {
        super(code, message, options);
        this.name = "StoreError";
    }
}

/** The operation was cancelled through its `AbortSignal`. */
export class AbortedError extends HindsightError {
    public constructor(message = "The operation was cancelled.") {
        super("ABORTED", message);
        this.name = "AbortedError";
    }
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
    if (signal?.aborted)
        throw new AbortedError();
}

/** The object was used after `dispose()`. */
export class DisposedError extends HindsightError {
    public constructor(what = "The engine") {
        super("DISPOSED", `${what} was shut down. Open it again.`);
        this.name = "DisposedError";
    }
}

/** One sentence for a user, whatever was thrown. Unknown errors keep their message but are marked internal. */
export function toUserError(err: unknown): {code: HindsightErrorCode, message: string} {
    if (err instanceof HindsightError)
        return {code: err.code, message: err.message};

    const message = err instanceof Error ? err.message : String(err);
    return {code: "INTERNAL", message: `Unexpected error: ${message}`};
}
