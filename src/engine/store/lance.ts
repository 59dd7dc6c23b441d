/**
 * Where the store meets LanceDB: the native module is loaded lazily, and LanceDB's message-only
 * errors become `StoreError`s here. Retrying a commit that lost an optimistic-concurrency race is the
 * one place where a LanceDB message is inspected, because LanceDB gives no error code for it.
 */
import type * as LanceDb from "@lancedb/lancedb";
import type * as Arrow from "apache-arrow";
import {HindsightError, StoreError} from "../errors.js";

export interface LanceModules {
    lancedb: typeof LanceDb;
    arrow: typeof Arrow;
}

let modules: Promise<LanceModules> | undefined;

/** Loads `@lancedb/lancedb` and `apache-arrow` once; a failure is a `StoreError` and is retried on the next call. */
export function loadLance(): Promise<LanceModules> {
    modules ??= (async () => {
        try {
            const [lancedb, arrow] = await Promise.all([import("@lancedb/lancedb"), import("apache-arrow")]);
            return {lancedb, arrow};
        } catch (err) {
            modules = undefined;
            throw new StoreError("STORE_UNAVAILABLE",
                "The log store's database engine (LanceDB) could not be loaded on this platform. Reinstall Hindsight, or run without stored logs.",
                {cause: err});
        }
    })();
    return modules;
}

/**
 * Runs one LanceDB operation and turns whatever it throws into a `StoreError` that names `what`
 * ("read the logs", "save the log"). Hindsight errors thrown inside pass through unchanged.
 */
export async function lanceOp<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
        return await fn();
    } catch (err) {
        throw asStoreError(what, err);
    }
}

export function asStoreError(what: string, err: unknown): HindsightError {
    if (err instanceof HindsightError)
        return err;

    const detail = err instanceof Error ? err.message : String(err);
    return new StoreError("STORE_UNAVAILABLE",
        `The log store could not ${what} (${firstLine(detail)}). Check that the store folder is on a working, writable disk, or choose another store folder.`,
        {cause: err});
}

/** Whether LanceDB refused a commit because another writer committed first; the operation can be retried as is. */
export function isCommitConflict(err: unknown): boolean {
    const message = err instanceof Error ? err.message : String(err);
    return /commit conflict|conflicting|concurrent (?:write|commit|modification)|retryable/i.test(message);
}

export interface RetryOptions {
    /** Defaults to 12. */
    attempts: number;
    /** First back-off in milliseconds, doubled per attempt with jitter. Defaults to 20. */
    baseDelayMs: number;
}

/**
 * Runs a write, retrying it while it fails with a commit conflict. Each write must be safe to repeat:
 * LanceDB either committed all of it or none of it.
 */
export async function withCommitRetry<T>(fn: () => Promise<T>, options: Partial<RetryOptions> = {}): Promise<T> {
    const attempts = options.attempts ?? 12;
    const baseDelayMs = options.baseDelayMs ?? 20;
    for (let attempt = 1; ; attempt++) {
        try {
            return await fn();
        } catch (err) {
            if (attempt >= attempts || !isCommitConflict(err))
                throw err;

            const delay = Math.min(2000, baseDelayMs * 2 ** (attempt - 1));
            await new Promise((resolve) => setTimeout(resolve, delay / 2 + Math.random() * delay));
        }
    }
}

function firstLine(text: string): string {
    const line = text.split("\n", 1)[0] ?? "";
    return line.length > 300 ? line.slice(0, 300) + "..." : line;
}
