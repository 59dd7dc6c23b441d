/**
 * The portable export file: JSON lines, one header line, then per log its KV rows (each followed by
 * its blob in base64 parts of at most 8 MiB, so no line grows past what a JS string can hold), its
 * embeddings, and the log row last, as in the store. The lines' schema and caps are in `portableSchema.ts`;
 * the reader checks every line against it and the lines against each other (parts belong to the log that
 * follows them, one KV row per fingerprint, one dimension per embedding space, one log per id).
 */
import {randomUUID} from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import {HindsightError} from "../errors.js";
import {base64Bytes, LineError, MAX_LINE_BYTES, parseLine, PART_BYTES, PORTABLE_FORMAT, PORTABLE_VERSION, type Line} from "./portableSchema.js";
import {validateEmbedding, validateKv, validateLog} from "./records.js";
import type {Embedding, KvRecord, LogRecord} from "./types.js";

export {PORTABLE_FORMAT, PORTABLE_VERSION} from "./portableSchema.js";

/** One log with everything stored for it. */
export interface PortableEntry {
    log: LogRecord;
    kv: KvRecord[];
    embeddings: Embedding[];
    /** KV rows the file has for this log that were not read (`readKv: false`). */
    skippedKv: number;
}

export interface ReadPortableOptions {
    /** Read the KV blobs; without it they are checked for shape and size but not decoded or kept. Defaults to `true`. */
    readKv: boolean;
}

/** Writes an export to a temporary file next to `file`; `commit()` renames it into place. */
export class PortableWriter {
    readonly #file: string;
    readonly #tmp: string;
    readonly #handle: fs.FileHandle;
    #buffer: string[] = [];
    #buffered = 0;
    #count = 0;

    private constructor(file: string, tmp: string, handle: fs.FileHandle) {
        this.#file = file;
        this.#tmp = tmp;
        this.#handle = handle;
    }

    public static async create(file: string, schemaVersion: number): Promise<PortableWriter> {
        // An unpredictable name, created exclusively and private: nothing else can have it open or have put a link there.
        const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${randomUUID()}.tmp`);
        const writer = new PortableWriter(file, tmp, await fs.open(tmp, "wx", 0o600));
        await writer.#line({kind: "header", format: PORTABLE_FORMAT, version: PORTABLE_VERSION, schemaVersion, exportedAt: new Date().toISOString()});
        return writer;
    }

    public get count(): number {
        return this.#count;
    }

    public async write({log, kv, embeddings}: Omit<PortableEntry, "skippedKv">): Promise<void> {
        for (const row of kv) {
            const parts = Math.ceil(row.data.byteLength / PART_BYTES);
            await this.#line({kind: "kv", logId: row.logId, fingerprint: row.fingerprint, nTokens: row.nTokens, tokens: row.tokens,
                createdAt: row.createdAt, bytes: row.data.byteLength, parts});
            for (let i = 0; i < parts; i++) {
                const part = row.data.subarray(i * PART_BYTES, (i + 1) * PART_BYTES);
                await this.#line({kind: "kvPart", data: Buffer.from(part.buffer, part.byteOffset, part.byteLength).toString("base64")});
            }
        }
        for (const embedding of embeddings)
            await this.#line({kind: "embedding", logId: log.id, space: embedding.space, vector: Array.from(embedding.vector)});

        await this.#line({kind: "log", log});
        this.#count++;
    }

    /** Flushes, syncs and renames the file into place. */
    public async commit(): Promise<void> {
        await this.#flush();
        await this.#handle.sync();
        await this.#handle.close();
        await fs.rename(this.#tmp, this.#file);
    }

    /** Removes the temporary file; the target file is left as it was. */
    public async abort(): Promise<void> {
        await this.#handle.close().catch(() => {});
        await fs.rm(this.#tmp, {force: true});
    }

    async #line(line: Line): Promise<void> {
        const text = JSON.stringify(line) + "\n";
        this.#buffer.push(text);
        this.#buffered += text.length;
        if (this.#buffered >= 4 * 1024 * 1024)
            await this.#flush();
    }

    async #flush(): Promise<void> {
        if (this.#buffer.length === 0)
            return;

        const text = this.#buffer.join("");
        this.#buffer = [];
        this.#buffered = 0;
        await this.#handle.write(text);
    }
}

/** The lines of `file` with their numbers; a line longer than `maxBytes` is refused before it is read whole. */
async function* readLines(file: string, maxBytes: number): AsyncGenerator<{lineNo: number, text: string}> {
    const handle = await fs.open(file, "r");
    try {
        const chunk = Buffer.alloc(1024 * 1024);
        let pending: Buffer[] = [];
        let pendingBytes = 0;
        let lineNo = 0;
        for (;;) {
            const {bytesRead} = await handle.read(chunk, 0, chunk.length, null);
            if (bytesRead === 0)
                break;
            let start = 0;
            for (let nl = chunk.indexOf(10, 0); nl >= 0 && nl < bytesRead; nl = chunk.indexOf(10, start)) {
                if (pendingBytes + nl - start > maxBytes)
                    throw new LineError(`longer than ${maxBytes} bytes`, lineNo + 1);
                pending.push(Buffer.from(chunk.subarray(start, nl)));
                yield {lineNo: ++lineNo, text: Buffer.concat(pending).toString("utf8")};
                pending = [];
                pendingBytes = 0;
                start = nl + 1;
            }
            pendingBytes += bytesRead - start;
            if (pendingBytes > maxBytes)
                throw new LineError(`longer than ${maxBytes} bytes`, lineNo + 1);
            pending.push(Buffer.from(chunk.subarray(start, bytesRead)));
        }
        if (pendingBytes > 0)
            yield {lineNo: ++lineNo, text: Buffer.concat(pending).toString("utf8")};
    } finally {
        await handle.close();
    }
}

/**
 * Reads an export file, yielding each complete log after checking every line of it. Throws `INVALID_ARGUMENT`,
 * naming the line, for a file that is not an export, a line that breaks the schema, or a file cut short.
 */
export async function* readPortable(file: string, options: Partial<ReadPortableOptions> = {}): AsyncGenerator<PortableEntry> {
    const readKv = options.readKv ?? true;
    let lineNo = 0;
    const fail = (why: string) => new HindsightError("INVALID_ARGUMENT",
        `${file} is not a valid Hindsight export (line ${lineNo}: ${why}). Choose a file written by "export", or export it again.`);
    const ids = new Set<string>();
    const dimensions = new Map<string, number>();
    let kv: KvRecord[] = [];
    let fingerprints = new Set<string>();
    let skippedKv = 0;
    let embeddings: (Embedding & {logId: string})[] = [];
    let pending: {record: KvRecord, parts: Buffer[], left: number, bytes: number, seen: number} | undefined;
    let headerSeen = false;
    /** The header's format version; the log lines' fields depend on it. */
    let version = PORTABLE_VERSION;

    try {
        for await (const next of readLines(file, MAX_LINE_BYTES)) {
            lineNo = next.lineNo;
            if (next.text.trim() === "")
                continue;

            let value: unknown;
            try {
                value = JSON.parse(next.text);
            } catch {
                throw fail("not JSON");
            }
            const line: Line = parseLine(value, version);
            if (!headerSeen) {
                if (line.kind !== "header" || line.format !== PORTABLE_FORMAT)
                    throw fail("no header");
                if (line.version > PORTABLE_VERSION)
                    throw new HindsightError("INVALID_ARGUMENT", `${file} was written by a newer Hindsight (format ${line.version}). Update Hindsight to import it.`);
                headerSeen = true;
                version = line.version;
                continue;
            }
            if (pending != null) {
                if (line.kind !== "kvPart")
                    throw fail("KV data cut short");
                const bytes = base64Bytes(line.data);
                if (bytes == null)
                    throw fail("KV data is not base64");
                if (bytes > PART_BYTES || pending.seen + bytes > pending.bytes)
                    throw fail(`KV data is longer than the ${pending.bytes} bytes its KV line declares`);
                pending.seen += bytes;
                if (readKv)
                    pending.parts.push(Buffer.from(line.data, "base64"));
                if (--pending.left === 0) {
                    if (pending.seen !== pending.bytes)
                        throw fail("KV data has the wrong length");
                    if (readKv) {
                        pending.record.data = new Uint8Array(Buffer.concat(pending.parts));
                        kv.push(pending.record);
                    } else
                        skippedKv++;
                    pending = undefined;
                }
                continue;
            }
            switch (line.kind) {
                case "kv": {
                    if (fingerprints.has(line.fingerprint))
                        throw fail(`a second KV row for fingerprint ${JSON.stringify(line.fingerprint)}`);
                    fingerprints.add(line.fingerprint);
                    const record: KvRecord = {logId: line.logId, fingerprint: line.fingerprint, nTokens: line.nTokens,
                        tokens: line.tokens, data: new Uint8Array(0), createdAt: line.createdAt};
                    validateKv(record);
                    if (Number.isNaN(Date.parse(line.createdAt)))
                        throw fail(`KV createdAt is not a date: ${JSON.stringify(line.createdAt)}`);
                    if (line.parts > 0)
                        pending = {record, parts: [], left: line.parts, bytes: line.bytes, seen: 0};
                    else if (readKv)
                        kv.push(record);
                    else
                        skippedKv++;
                    break;
                }
                case "embedding": {
                    const embedding = {logId: line.logId, space: line.space, vector: line.vector};
                    validateEmbedding(embedding);
                    if (embeddings.some((e) => e.space === line.space))
                        throw fail(`a second embedding in space ${JSON.stringify(line.space)} for one log`);
                    const dimension = dimensions.get(line.space) ?? line.vector.length;
                    if (dimension !== line.vector.length)
                        throw fail(`embedding space ${JSON.stringify(line.space)} has ${dimension} dimensions earlier in the file; this vector has ${line.vector.length}`);
                    dimensions.set(line.space, dimension);
                    embeddings.push(embedding);
                    break;
                }
                case "log": {
                    validateLog(line.log);
                    if (ids.has(line.log.id))
                        throw fail(`a second log with id ${JSON.stringify(line.log.id)}`);
                    ids.add(line.log.id);
                    const stray = [...kv, ...embeddings].find((part) => part.logId !== line.log.id);
                    if (stray != null)
                        throw fail(`parts of log ${JSON.stringify(stray.logId)} are followed by log ${JSON.stringify(line.log.id)}`);
                    yield {log: line.log, kv, embeddings: embeddings.map(({space, vector}) => ({space, vector})), skippedKv};
                    kv = [];
                    fingerprints = new Set();
                    skippedKv = 0;
                    embeddings = [];
                    break;
                }
                default:
                    throw fail(`a ${line.kind} line here`);
            }
        }
        if (!headerSeen)
            throw fail("empty file");
        if (pending != null || kv.length > 0 || fingerprints.size > 0 || embeddings.length > 0)
            throw fail("the file ends inside a log's parts (it was cut short)");
    } catch (err) {
        if (err instanceof LineError) {
            lineNo = err.lineNo ?? lineNo;
            throw fail(err.message);
        }
        // The store's own rules (records.ts) name the value; the line number says where it is.
        if (err instanceof HindsightError && err.code === "INVALID_ARGUMENT" && !err.message.includes(file))
            throw fail(err.message.replace(/\.$/, ""));
        const code = (err as NodeJS.ErrnoException).code;
        if (!(err instanceof HindsightError) && typeof code === "string")
            throw new HindsightError("INVALID_ARGUMENT", `Cannot read ${file} (${code}). Check the file's name and permissions.`, {cause: err});
        throw err;
    }
}
