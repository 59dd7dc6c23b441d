/**
 * The portable export file: JSON lines, one header line, then per log its KV rows (each followed by
 * its blob in base64 parts of at most 8 MiB, so no line grows past what a JS string can hold), its
 * embeddings, and the log row last, as in the store. A reader therefore meets a log only after all
 * of its parts, and a file cut short yields only whole logs.
 */
import fs from "node:fs/promises";
import {createReadStream} from "node:fs";
import path from "node:path";
import readline from "node:readline";
import {HindsightError} from "../errors.js";
import type {Embedding, KvRecord, LogRecord} from "./types.js";

export const PORTABLE_FORMAT = "hindsight-logs";
export const PORTABLE_VERSION = 1;

const PART_BYTES = 8 * 1024 * 1024;

/** One log with everything stored for it. */
export interface PortableEntry {
    log: LogRecord;
    kv: KvRecord[];
    embeddings: Embedding[];
}

type Line =
    | {kind: "header", format: string, version: number, schemaVersion: number, exportedAt: string}
    | {kind: "kv", logId: string, fingerprint: string, nTokens: number, tokens: number[], createdAt: string, bytes: number, parts: number}
    | {kind: "kvPart", data: string}
    | {kind: "embedding", logId: string, space: string, vector: number[]}
    | {kind: "log", log: LogRecord};

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
        const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
        const writer = new PortableWriter(file, tmp, await fs.open(tmp, "w"));
        await writer.#line({kind: "header", format: PORTABLE_FORMAT, version: PORTABLE_VERSION, schemaVersion, exportedAt: new Date().toISOString()});
        return writer;
    }

    public get count(): number {
        return this.#count;
    }

    public async write({log, kv, embeddings}: PortableEntry): Promise<void> {
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

/** Reads an export file, yielding each complete log. Throws `INVALID_ARGUMENT` for a file that is not an export. */
export async function* readPortable(file: string): AsyncGenerator<PortableEntry> {
    const input = createReadStream(file);
    const lines = readline.createInterface({input, crlfDelay: Infinity});
    let lineNo = 0;
    let kv: KvRecord[] = [];
    let embeddings: Embedding[] = [];
    let pending: {record: KvRecord, parts: Buffer[], left: number, bytes: number} | undefined;
    const fail = (why: string) => new HindsightError("INVALID_ARGUMENT",
        `${file} is not a Hindsight export file (line ${lineNo}: ${why}). Choose a file written by "export".`);

    try {
        for await (const text of lines) {
            lineNo++;
            if (text.trim() === "")
                continue;

            let line: Line;
            try {
                line = JSON.parse(text) as Line;
            } catch {
                throw fail("not JSON");
            }
            if (lineNo === 1) {
                if (line.kind !== "header" || line.format !== PORTABLE_FORMAT)
                    throw fail("no header");
                if (line.version > PORTABLE_VERSION)
                    throw new HindsightError("INVALID_ARGUMENT", `${file} was written by a newer Hindsight (format ${line.version}). Update Hindsight to import it.`);
                continue;
            }
            if (pending != null) {
                if (line.kind !== "kvPart")
                    throw fail("KV data cut short");

                pending.parts.push(Buffer.from(line.data, "base64"));
                if (--pending.left === 0) {
                    pending.record.data = new Uint8Array(Buffer.concat(pending.parts));
                    if (pending.record.data.byteLength !== pending.bytes)
                        throw fail("KV data has the wrong length");
                    kv.push(pending.record);
                    pending = undefined;
                }
                continue;
            }
            switch (line.kind) {
                case "kv": {
                    const record: KvRecord = {logId: line.logId, fingerprint: line.fingerprint, nTokens: line.nTokens,
                        tokens: line.tokens, data: new Uint8Array(0), createdAt: line.createdAt};
                    if (line.parts === 0)
                        kv.push(record);
                    else
                        pending = {record, parts: [], left: line.parts, bytes: line.bytes};
                    break;
                }
                case "embedding":
                    embeddings.push({space: line.space, vector: line.vector});
                    break;
                case "log":
                    yield {log: line.log, kv: kv.filter((row) => row.logId === line.log.id), embeddings};
                    kv = [];
                    embeddings = [];
                    break;
                default:
                    throw fail(`unexpected line kind ${JSON.stringify((line as {kind: unknown}).kind)}`);
            }
        }
        if (lineNo === 0)
            throw fail("empty file");
    } finally {
        lines.close();
        input.destroy();
    }
}

