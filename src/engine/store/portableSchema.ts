/**
 * The one schema of an export file's lines. Each line is parsed into a typed value or refused with a
 * reason; nothing else about a line is assumed. Values are checked with the same rules as every other
 * write (`records.ts`); this file adds the shape: which fields a line has (no more, no fewer), and the
 * caps that keep a crafted file from exhausting memory.
 */
import {MAX_LOG_FILES} from "./records.js";
import type {LogFile, LogOutcome, LogRecord} from "./types.js";

export const PORTABLE_FORMAT = "hindsight-logs";
/** Version 2 added each log's `files`; a version 1 file's logs have none (and may not carry the field). */
export const PORTABLE_VERSION = 2;

/** A KV blob is written in base64 parts of at most this many bytes, so no line grows past what a JS string can hold. */
export const PART_BYTES = 8 * 1024 * 1024;
/** A line longer than this is refused before it is read whole (a KV part line is about 11 MiB). */
export const MAX_LINE_BYTES = 32 * 1024 * 1024;
/** A KV blob declared larger than this is refused before any of it is read. */
export const MAX_KV_BYTES = 1024 * 1024 * 1024;
/** An embedding with more dimensions than this is refused. */
export const MAX_DIMENSION = 16384;

export type HeaderLine = {kind: "header", format: string, version: number, schemaVersion: number, exportedAt: string};
export type KvLine = {kind: "kv", logId: string, fingerprint: string, nTokens: number, tokens: number[], createdAt: string, bytes: number, parts: number};
export type KvPartLine = {kind: "kvPart", data: string};
export type EmbeddingLine = {kind: "embedding", logId: string, space: string, vector: number[]};
export type LogLine = {kind: "log", log: LogRecord};
export type Line = HeaderLine | KvLine | KvPartLine | EmbeddingLine | LogLine;

/** Why a line was refused; the reader adds the file and, unless given here, the line number. */
export class LineError extends Error {
    public constructor(message: string, public readonly lineNo?: number) {
        super(message);
        this.name = "LineError";
    }
}

type Obj = Record<string, unknown>;

/** Refuses a value that is not an object with exactly `fields`. */
function exactly(value: unknown, what: string, fields: readonly string[]): Obj {
    if (typeof value !== "object" || value === null || Array.isArray(value))
        throw new LineError(`${what} is ${value === null ? "null" : Array.isArray(value) ? "an array" : typeof value}, not an object`);
    const obj = value as Obj;
    const unknown = Object.keys(obj).filter((key) => !fields.includes(key));
    if (unknown.length > 0)
        throw new LineError(`${what} has unknown field${unknown.length > 1 ? "s" : ""} ${unknown.map((key) => JSON.stringify(key)).join(", ")}`);
    const missing = fields.filter((key) => !(key in obj));
    if (missing.length > 0)
        throw new LineError(`${what} lacks ${missing.map((key) => JSON.stringify(key)).join(", ")}`);
    return obj;
}

function string(obj: Obj, key: string, what: string, nonEmpty = false): string {
    const value = obj[key];
    if (typeof value !== "string" || (nonEmpty && value === ""))
        throw new LineError(`${what}'s ${key} must be a${nonEmpty ? " non-empty" : ""} string`);
    return value;
}

function integer(obj: Obj, key: string, what: string, min: number, max: number): number {
    const value = obj[key];
    if (!Number.isSafeInteger(value) || (value as number) < min || (value as number) > max)
        throw new LineError(`${what}'s ${key} must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
    return value as number;
}

function numbers(obj: Obj, key: string, what: string): number[] {
    const value = obj[key];
    if (!Array.isArray(value))
        throw new LineError(`${what}'s ${key} must be an array of numbers`);
    const bad = value.findIndex((item) => typeof item !== "number");
    if (bad >= 0)
        throw new LineError(`${what}'s ${key} must hold numbers only; item ${bad} is ${JSON.stringify(value[bad])}`);
    return value as number[];
}

const logFieldsV1 = ["id", "createdAt", "workspace", "task", "lastResponse", "logText", "outcome", "pinned", "nTokens"] as const satisfies readonly (keyof LogRecord)[];
const logFields = [...logFieldsV1, "files"] as const satisfies readonly (keyof LogRecord)[];

/** The shape of a log's `files` (each exactly `{path, sha256}`, both strings); the values' rules are `validateFiles`'. */
function files(obj: Obj, what: string): LogFile[] {
    const value = obj.files;
    if (!Array.isArray(value))
        throw new LineError(`${what}'s files must be an array`);
    if (value.length > MAX_LOG_FILES)
        throw new LineError(`${what} names ${value.length} files; at most ${MAX_LOG_FILES} are accepted`);
    return value.map((item: unknown, i) => {
        const file = exactly(item, `${what}'s file ${i}`, ["path", "sha256"]);
        return {path: string(file, "path", `${what}'s file ${i}`, true), sha256: string(file, "sha256", `${what}'s file ${i}`, true)};
    });
}
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** The byte length `data` (base64) decodes to, or null when it is not canonical base64. */
export function base64Bytes(data: string): number | null {
    if (data.length % 4 !== 0 || !BASE64.test(data))
        return null;
    return data.length / 4 * 3 - (data.endsWith("==") ? 2 : data.endsWith("=") ? 1 : 0);
}

/**
 * Parses one line's JSON value against the schema of format `version` (the header's; a log line's fields depend on
 * it). The values' own rules (`validateLog`, `validateKv`, ...) are the store's.
 */
export function parseLine(value: unknown, version: number = PORTABLE_VERSION): Line {
    if (typeof value !== "object" || value === null || Array.isArray(value))
        throw new LineError(`the line is ${value === null ? "null" : Array.isArray(value) ? "an array" : typeof value}, not an object`);
    const kind = (value as Obj).kind;
    switch (kind) {
        case "header": {
            const obj = exactly(value, "the header", ["kind", "format", "version", "schemaVersion", "exportedAt"]);
            return {kind, format: string(obj, "format", "the header"), version: integer(obj, "version", "the header", 1, Number.MAX_SAFE_INTEGER),
                schemaVersion: integer(obj, "schemaVersion", "the header", 0, Number.MAX_SAFE_INTEGER), exportedAt: string(obj, "exportedAt", "the header")};
        }
        case "kv": {
            const what = "a KV line";
            const obj = exactly(value, what, ["kind", "logId", "fingerprint", "nTokens", "tokens", "createdAt", "bytes", "parts"]);
            const bytes = integer(obj, "bytes", what, 0, MAX_KV_BYTES);
            const parts = integer(obj, "parts", what, 0, Math.ceil(MAX_KV_BYTES / PART_BYTES));
            if (parts !== Math.ceil(bytes / PART_BYTES))
                throw new LineError(`${what} declares ${bytes} bytes in ${parts} parts; that many bytes take ${Math.ceil(bytes / PART_BYTES)}`);
            return {kind, logId: string(obj, "logId", what, true), fingerprint: string(obj, "fingerprint", what, true),
                nTokens: integer(obj, "nTokens", what, 0, 2 ** 31 - 1), tokens: numbers(obj, "tokens", what), createdAt: string(obj, "createdAt", what),
                bytes, parts};
        }
        case "kvPart": {
            const obj = exactly(value, "a KV part line", ["kind", "data"]);
            return {kind, data: string(obj, "data", "a KV part line")};
        }
        case "embedding": {
            const what = "an embedding line";
            const obj = exactly(value, what, ["kind", "logId", "space", "vector"]);
            const vector = numbers(obj, "vector", what);
            if (vector.length > MAX_DIMENSION)
                throw new LineError(`${what}'s vector has ${vector.length} dimensions; at most ${MAX_DIMENSION} are accepted`);
            return {kind, logId: string(obj, "logId", what, true), space: string(obj, "space", what, true), vector};
        }
        case "log": {
            const obj = exactly(value, "a log line", ["kind", "log"]);
            const log = exactly(obj.log, "a log line's log", version >= 2 ? logFields : logFieldsV1);
            return {kind, log: {
                id: string(log, "id", "a log", true), createdAt: string(log, "createdAt", "a log"), workspace: string(log, "workspace", "a log"),
                task: string(log, "task", "a log"), lastResponse: string(log, "lastResponse", "a log"), logText: string(log, "logText", "a log"),
                outcome: string(log, "outcome", "a log") as LogOutcome, pinned: log.pinned as boolean, nTokens: log.nTokens as number,
                files: version >= 2 ? files(log, "a log") : []
            }};
        }
        default:
            throw new LineError(`unknown line kind ${JSON.stringify(kind) ?? "(none)"}`);
    }
}
