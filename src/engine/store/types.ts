/** What a finished task turned out to be; retrieval can leave out logs by outcome. */
export type LogOutcome = "unknown" | "accepted" | "rejected" | "tests-passed" | "tests-failed";

export const LOG_OUTCOMES: readonly LogOutcome[] = ["unknown", "accepted", "rejected", "tests-passed", "tests-failed"];

/**
 * A workspace file a task read (through the read tool) or was given (the editor's file or selection), as it was
 * then: its path under the workspace (`/`-separated, never absolute, no `.` or `..` segments) and the SHA-256 of its
 * content (lowercase hex). When the log is retrieved again the file is checked: changed or gone, the log is stale.
 */
export interface LogFile {
    path: string;
    sha256: string;
}

/** One finished task: its text, and what became of it. Its KV and embeddings live in other tables. */
export interface LogRecord {
    id: string;
    /** ISO 8601, UTC (`Date.prototype.toISOString`). */
    createdAt: string;
    /** The workspace (folder) the task ran in; searches can be limited to it. */
    workspace: string;
    /** The user's request. */
    task: string;
    /** The model's last response: the tokens whose KV is stored. */
    lastResponse: string;
    /** All of the model's responses, joined with a blank line (kept so a log can be re-encoded for another model). */
    logText: string;
    outcome: LogOutcome;
    /** A pinned log is never removed by automatic pruning. */
    pinned: boolean;
    /** Tokens of the last response, i.e. the number of stored KV cells. */
    nTokens: number;
    /** The workspace files the task read or was given, each once (empty for a log made before store version 2). */
    files: LogFile[];
}

export interface NewLog extends Omit<LogRecord, "id" | "createdAt" | "outcome" | "pinned" | "files"> {
    /** Defaults to a random UUID. */
    id?: string;
    /** Defaults to `"unknown"`. */
    outcome?: LogOutcome;
    /** Defaults to `false`. */
    pinned?: boolean;
    /** Defaults to none. */
    files?: LogFile[];
}

/** The stored KV cells of one log, for one model/cache configuration (`fingerprint`). */
export interface KvRecord {
    logId: string;
    /** Identifies the model file, KV cache type and context layout the blob is valid for. */
    fingerprint: string;
    /** Number of KV cells in `data`; equals `tokens.length`. */
    nTokens: number;
    /** Token ids of the stored cells. */
    tokens: number[];
    /** Opaque KV state blob (llama.cpp sequence state). */
    data: Uint8Array;
    createdAt: string;
}

export type NewKv = Omit<KvRecord, "logId" | "createdAt">;

export interface Embedding {
    /** Embedding model id; vectors of different spaces are never compared. */
    space: string;
    vector: Float32Array | number[];
}

export interface SearchHit {
    id: string;
    /** Higher is better: cosine similarity for vector search, BM25 for text search. */
    score: number;
}

export interface SearchOptions {
    /** Number of hits wanted. */
    k: number;
    /** Only logs of this workspace. Defaults to all workspaces. */
    workspace?: string;
    /** Leave out logs with these outcomes. Defaults to none. */
    excludeOutcomes?: LogOutcome[];
}

export interface KvInfo {
    fingerprint: string;
    bytes: number;
    nTokens: number;
}

export interface LogStoreOptions {
    /** Open without writing anything: no creation, no migration, no cleanup; writes throw. Defaults to `false`. */
    readOnly: boolean;
    /**
     * KV and embedding rows whose log row does not exist (left by a crashed or ongoing write) are deleted
     * on a writable open once they are older than this. Defaults to 5 minutes.
     */
    orphanGraceMs: number;
}

export interface ImportOptions {
    /**
     * Keep the file's KV blobs. A blob is opaque model state that the model reads as if it were text: a valid,
     * checksummed blob can carry instructions the log's text does not show. Keep them only from a file you
     * trust, and say so with the literal `{acceptRisk: true}`. Defaults to `false`: the blobs are dropped and
     * each log is encoded from its own text when it is first reused (or by re-encoding the memory).
     */
    keepKv: false | {acceptRisk: true};
}

export interface ImportResult {
    /** Logs added. */
    added: number;
    /** Logs of the file whose id the store already had. */
    skipped: number;
    /** KV rows of the added logs that were stored as the file had them (only with `keepKv`). */
    kvKept: number;
    /** KV rows of the added logs that were dropped (to be encoded again from the logs' text). */
    kvDropped: number;
}
