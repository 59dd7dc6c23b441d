/**
 * Rows in and out of LanceDB: turning records into table rows and back, the SQL filter of a search,
 * and the checks every record passes before it is written.
 */
import {HindsightError} from "../errors.js";
import {sqlAnd, sqlEq, sqlNotIn} from "./sql.js";
import {LOG_OUTCOMES, type Embedding, type KvRecord, type LogFile, type LogOutcome, type LogRecord, type SearchOptions} from "./types.js";

export type Row = Record<string, unknown>;

export function logFilter(filter: Omit<SearchOptions, "k">): string | undefined {
    return sqlAnd(
        filter.workspace != null ? sqlEq("workspace", filter.workspace) : undefined,
        filter.excludeOutcomes != null ? sqlNotIn("outcome", filter.excludeOutcomes) : undefined
    );
}

/** The `files` column holds a log's file list as JSON text (`[{"path", "sha256"}]`; store version 2). */
export function logRow(log: LogRecord): Row {
    return {...log, createdAt: new Date(log.createdAt).toISOString(), files: JSON.stringify(log.files.map(({path, sha256}) => ({path, sha256})))};
}

export function kvRow(kv: Omit<KvRecord, "createdAt">, createdAt: string): Row {
    return {logId: kv.logId, fingerprint: kv.fingerprint, nTokens: kv.nTokens, tokens: kv.tokens, data: kv.data, bytes: BigInt(kv.data.byteLength), createdAt};
}

export function vectorRow(logId: string, embedding: Embedding, createdAt: string): Row {
    return {logId, space: embedding.space, vector: Array.from(embedding.vector), createdAt};
}

export function toLogRecord(row: Row): LogRecord {
    return {
        id: String(row.id),
        createdAt: String(row.createdAt),
        workspace: String(row.workspace),
        task: String(row.task),
        lastResponse: String(row.lastResponse),
        logText: String(row.logText),
        outcome: String(row.outcome) as LogOutcome,
        pinned: row.pinned === true,
        nTokens: Number(row.nTokens),
        files: filesOfRow(row.files)
    };
}

/**
 * The file list of a stored row. Every write was validated, so a list that does not parse or pass the rules now
 * (a damaged row) is read as none: the log is then treated as one with no files, i.e. unchanged, as an old log is.
 */
function filesOfRow(value: unknown): LogFile[] {
    if (typeof value !== "string" || value === "")
        return [];
    try {
        const files = JSON.parse(value) as LogFile[];
        validateFiles(files);
        return files;
    } catch {
        return [];
    }
}

export function toKvRecord(row: Row): KvRecord {
    const tokens = row.tokens as {toArray(): ArrayLike<number>} | null;
    return {
        logId: String(row.logId),
        fingerprint: String(row.fingerprint),
        nTokens: Number(row.nTokens),
        tokens: tokens == null ? [] : Array.from(tokens.toArray()),
        // A copy: the row's view may share a large buffer with other rows.
        data: new Uint8Array(row.data as Uint8Array),
        createdAt: String(row.createdAt)
    };
}

/** The largest value of the store's Int32 columns (`nTokens`, token ids). */
export const INT32_MAX = 2 ** 31 - 1;
/** The largest magnitude a Float32 vector element can hold without becoming infinite. */
const FLOAT32_MAX = 3.4028234663852886e38;

export function invalid(message: string): HindsightError {
    return new HindsightError("INVALID_ARGUMENT", message);
}

export function validK(k: number): number {
    if (!Number.isInteger(k) || k < 1)
        throw invalid(`k must be a positive integer, got ${k}.`);
    return k;
}

export function validateLog(log: LogRecord): void {
    for (const key of ["id", "workspace", "task", "lastResponse", "logText"] as const)
        if (typeof log[key] !== "string")
            throw invalid(`A log's ${key} must be a string.`);
    if (log.id === "")
        throw invalid("A log's id must not be empty.");
    if (Number.isNaN(new Date(log.createdAt).getTime()))
        throw invalid(`A log's createdAt is not a date: ${JSON.stringify(log.createdAt)}.`);
    if (!LOG_OUTCOMES.includes(log.outcome))
        throw invalid(`Unknown outcome ${JSON.stringify(log.outcome)}.`);
    if (typeof log.pinned !== "boolean")
        throw invalid("A log's pinned must be true or false.");
    if (!isCount(log.nTokens))
        throw invalid(`A log's nTokens must be an integer from 0 to ${INT32_MAX}, got ${String(log.nTokens)}.`);
    validateFiles(log.files);
}

/** The most files one log may name. */
export const MAX_LOG_FILES = 256;
/** The longest path a log may name, in characters. */
const MAX_FILE_PATH = 1024;
const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * A log's file list: at most `MAX_LOG_FILES` entries, each exactly `{path, sha256}`, each path once. A path is
 * relative to the workspace and plain: `/`-separated, not absolute (no leading `/`, no drive letter), no `\`, no
 * empty, `.` or `..` segment, no control character, at most 1024 characters. A file from elsewhere (an import) can
 * therefore never name a place outside the workspace, and the checks that read it (real paths, exclude globs) come on top.
 */
export function validateFiles(files: unknown): asserts files is LogFile[] {
    if (!Array.isArray(files))
        throw invalid("A log's files must be an array.");
    if (files.length > MAX_LOG_FILES)
        throw invalid(`A log may name at most ${MAX_LOG_FILES} files; this one names ${files.length}.`);
    const seen = new Set<string>();
    files.forEach((file: unknown, i) => {
        if (typeof file !== "object" || file === null || Array.isArray(file))
            throw invalid(`A log's file ${i} must be an object {path, sha256}.`);
        const keys = Object.keys(file);
        if (keys.length !== 2 || !keys.includes("path") || !keys.includes("sha256"))
            throw invalid(`A log's file ${i} must have exactly the fields "path" and "sha256" (it has ${keys.map((k) => JSON.stringify(k)).join(", ") || "none"}).`);
        const {path, sha256} = file as Record<string, unknown>;
        if (typeof path !== "string" || !isPlainRelativePath(path))
            throw invalid(`A log's file ${i} has a path that is not a plain workspace-relative path: ${JSON.stringify(path)}.`);
        if (typeof sha256 !== "string" || !SHA256_HEX.test(sha256))
            throw invalid(`A log's file ${i} (${path}) needs a sha256 of 64 lowercase hex digits.`);
        if (seen.has(path))
            throw invalid(`A log names the file ${path} twice.`);
        seen.add(path);
    });
}

function isPlainRelativePath(path: string): boolean {
    if (path === "" || path.length > MAX_FILE_PATH || /[\\\u0000-\u001f\u007f]/.test(path) || path.startsWith("/") || /^[A-Za-z]:/.test(path))
        return false;
    return path.split("/").every((segment) => segment !== "" && segment !== "." && segment !== "..");
}

/** A non-negative integer that fits the store's Int32 columns. */
function isCount(value: unknown): value is number {
    return Number.isSafeInteger(value) && (value as number) >= 0 && (value as number) <= INT32_MAX;
}

export function validateKv(kv: Omit<KvRecord, "createdAt">): void {
    if (typeof kv.logId !== "string" || typeof kv.fingerprint !== "string" || kv.fingerprint === "")
        throw invalid("A KV row needs a logId and a non-empty fingerprint.");
    if (!(kv.data instanceof Uint8Array))
        throw invalid("A KV row's data must be a Uint8Array.");
    if (!isCount(kv.nTokens))
        throw invalid(`A KV row's nTokens must be an integer from 0 to ${INT32_MAX}, got ${String(kv.nTokens)}.`);
    if (!Array.isArray(kv.tokens) || kv.tokens.length !== kv.nTokens)
        throw invalid(`A KV row's tokens must list its ${kv.nTokens} cells' token ids (got ${Array.isArray(kv.tokens) ? kv.tokens.length : typeof kv.tokens}).`);
    const bad = kv.tokens.findIndex((token) => !isCount(token));
    if (bad >= 0)
        throw invalid(`A KV row's token ids must be integers from 0 to ${INT32_MAX}; token ${bad} is ${typeof kv.tokens[bad] === "string" ? JSON.stringify(kv.tokens[bad]) : String(kv.tokens[bad])}.`);
}

export function validateEmbedding(embedding: Embedding): void {
    if (typeof embedding.space !== "string" || embedding.space === "")
        throw invalid("An embedding needs a space id.");
    const vector = embedding.vector;
    if (vector == null || vector.length === 0)
        throw invalid("An embedding vector must not be empty.");
    let norm = 0;
    for (const value of vector) {
        if (typeof value !== "number" || !Number.isFinite(value) || Math.abs(value) > FLOAT32_MAX)
            throw invalid("An embedding vector must hold finite numbers (within the range of a 32-bit float).");
        norm += value * value;
    }
    if (norm === 0)
        throw invalid("An embedding vector must not be all zeros (cosine similarity is undefined for it).");
}
