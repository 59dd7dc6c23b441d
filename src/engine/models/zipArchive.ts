import fs from "node:fs";
import fsp from "node:fs/promises";
import {PassThrough, Readable} from "node:stream";
import {pipeline} from "node:stream/promises";
import zlib from "node:zlib";
import {AbortedError, HindsightError} from "../errors.js";

/**
 * A minimal reader for zip archives (Python wheels): the central directory, and streaming extraction of
 * stored (method 0) and deflated (method 8) members with CRC-32 and size checks. ZIP64 is supported;
 * encryption and other methods are refused.
 */
export interface ZipEntry {
    name: string;
    /** 0 = stored, 8 = deflated. */
    method: number;
    compressedSize: number;
    uncompressedSize: number;
    crc32: number;
    localHeaderOffset: number;
}

const EOCD_SIGNATURE = 0x06054b50;
const ZIP64_LOCATOR_SIGNATURE = 0x07064b50;
const ZIP64_EOCD_SIGNATURE = 0x06064b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const LOCAL_SIGNATURE = 0x04034b50;
const maxCommentLength = 0xffff;

function invalid(zipPath: string, detail: string): HindsightError {
    return new HindsightError("DOWNLOAD_FAILED", `The downloaded archive ${zipPath} is not a readable zip file (${detail}). Download it again.`);
}

async function readAt(handle: fsp.FileHandle, offset: number, length: number): Promise<Buffer> {
    const buffer = Buffer.alloc(length);
    const {bytesRead} = await handle.read(buffer, 0, length, offset);
    return buffer.subarray(0, bytesRead);
}

function u64(buffer: Buffer, offset: number): number {
    const value = buffer.readBigUInt64LE(offset);
    if (value > BigInt(Number.MAX_SAFE_INTEGER))
        throw new RangeError("zip64 value out of range");
    return Number(value);
}

/** Lists the members of the zip archive at `zipPath` from its central directory. */
export async function readZipEntries(zipPath: string): Promise<ZipEntry[]> {
    const handle = await fsp.open(zipPath, "r");
    try {
        const {size} = await handle.stat();
        const tailLength = Math.min(size, 22 + maxCommentLength);
        const tail = await readAt(handle, size - tailLength, tailLength);
        let eocd = -1;
        for (let i = tail.length - 22; i >= 0; i--) {
            if (tail.readUInt32LE(i) === EOCD_SIGNATURE) {
                eocd = i;
                break;
            }
        }
        if (eocd < 0)
            throw invalid(zipPath, "no end of central directory record");

        let entryCount = tail.readUInt16LE(eocd + 10);
        let directorySize = tail.readUInt32LE(eocd + 12);
        let directoryOffset = tail.readUInt32LE(eocd + 16);
        if (entryCount === 0xffff || directorySize === 0xffffffff || directoryOffset === 0xffffffff) {
            const locatorAt = size - tailLength + eocd - 20;
            const locator = locatorAt >= 0 ? await readAt(handle, locatorAt, 20) : Buffer.alloc(0);
            if (locator.length < 20 || locator.readUInt32LE(0) !== ZIP64_LOCATOR_SIGNATURE)
                throw invalid(zipPath, "missing ZIP64 locator");
            const record = await readAt(handle, u64(locator, 8), 56);
            if (record.length < 56 || record.readUInt32LE(0) !== ZIP64_EOCD_SIGNATURE)
                throw invalid(zipPath, "missing ZIP64 end of central directory record");
            entryCount = u64(record, 32);
            directorySize = u64(record, 40);
            directoryOffset = u64(record, 48);
        }
        if (directoryOffset + directorySize > size)
            throw invalid(zipPath, "the central directory lies past the end of the file; it is truncated");

        const directory = await readAt(handle, directoryOffset, directorySize);
        const entries: ZipEntry[] = [];
        let at = 0;
        for (let i = 0; i < entryCount; i++) {
            if (at + 46 > directory.length || directory.readUInt32LE(at) !== CENTRAL_SIGNATURE)
                throw invalid(zipPath, `central directory entry ${i} is damaged`);
            const flags = directory.readUInt16LE(at + 8);
            const method = directory.readUInt16LE(at + 10);
            const crc32 = directory.readUInt32LE(at + 16);
            let compressedSize = directory.readUInt32LE(at + 20);
            let uncompressedSize = directory.readUInt32LE(at + 24);
            const nameLength = directory.readUInt16LE(at + 28);
            const extraLength = directory.readUInt16LE(at + 30);
            const commentLength = directory.readUInt16LE(at + 32);
            let localHeaderOffset = directory.readUInt32LE(at + 42);
            const name = directory.toString((flags & 0x800) !== 0 ? "utf8" : "latin1", at + 46, at + 46 + nameLength);

            // ZIP64 extended information: present values replace the 0xffffffff placeholders, in this order.
            const extra = directory.subarray(at + 46 + nameLength, at + 46 + nameLength + extraLength);
            for (let e = 0; e + 4 <= extra.length;) {
                const id = extra.readUInt16LE(e);
                const length = extra.readUInt16LE(e + 2);
                if (id === 0x0001) {
                    let p = e + 4;
                    if (uncompressedSize === 0xffffffff) { uncompressedSize = u64(extra, p); p += 8; }
                    if (compressedSize === 0xffffffff) { compressedSize = u64(extra, p); p += 8; }
                    if (localHeaderOffset === 0xffffffff) { localHeaderOffset = u64(extra, p); }
                }
                e += 4 + length;
            }
            if ((flags & 0x1) !== 0)
                throw invalid(zipPath, `member ${name} is encrypted`);
            entries.push({name, method, compressedSize, uncompressedSize, crc32, localHeaderOffset});
            at += 46 + nameLength + extraLength + commentLength;
        }
        return entries;
    } catch (err) {
        if (err instanceof RangeError)
            throw invalid(zipPath, err.message);
        throw err;
    } finally {
        await handle.close();
    }
}

/**
 * Streams the uncompressed bytes of `entry` into `output` at its current position (so several members can be
 * concatenated into one file), checking the size and the CRC-32. `onBytes` receives the running count for this member.
 */
export async function extractZipEntry(zipPath: string, entry: ZipEntry, output: fsp.FileHandle,
    options: {signal?: AbortSignal, onBytes?: (written: number) => void} = {}): Promise<void> {
    let written = 0;
    await streamEntry(zipPath, entry, async (chunk) => {
        await output.write(chunk);
        written += chunk.length;
        options.onBytes?.(written);
    }, options.signal);
}

/** The uncompressed bytes of a small member (such as a wheel's METADATA), refusing members over `maxBytes`. */
export async function readZipEntry(zipPath: string, entry: ZipEntry, maxBytes = 1 << 20): Promise<Buffer> {
    if (entry.uncompressedSize > maxBytes)
        throw invalid(zipPath, `member ${entry.name} is larger than ${maxBytes} bytes`);
    const chunks: Buffer[] = [];
    await streamEntry(zipPath, entry, (chunk) => { chunks.push(chunk); }, undefined);
    return Buffer.concat(chunks);
}

async function streamEntry(zipPath: string, entry: ZipEntry, sink: (chunk: Buffer) => Promise<void> | void,
    signal: AbortSignal | undefined): Promise<void> {
    if (entry.method !== 0 && entry.method !== 8)
        throw invalid(zipPath, `member ${entry.name} uses compression method ${entry.method}`);

    const handle = await fsp.open(zipPath, "r");
    let dataStart: number;
    try {
        const local = await readAt(handle, entry.localHeaderOffset, 30);
        if (local.length < 30 || local.readUInt32LE(0) !== LOCAL_SIGNATURE)
            throw invalid(zipPath, `the local header of ${entry.name} is damaged`);
        dataStart = entry.localHeaderOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
    } finally {
        await handle.close();
    }

    let written = 0;
    let crc = 0;
    const source = entry.compressedSize === 0
        ? Readable.from([])
        : fs.createReadStream(zipPath, {start: dataStart, end: dataStart + entry.compressedSize - 1, highWaterMark: 1 << 20});
    try {
        await pipeline(
            source,
            entry.method === 8 ? zlib.createInflateRaw({chunkSize: 1 << 20}) : new PassThrough(),
            async (chunks: AsyncIterable<Buffer>) => {
                for await (const chunk of chunks) {
                    crc = zlib.crc32(chunk, crc);
                    written += chunk.length;
                    await sink(chunk);
                }
            },
            {signal}
        );
    } catch (err) {
        if (signal?.aborted)
            throw new AbortedError();
        if ((err as NodeJS.ErrnoException).code?.startsWith("Z_"))
            throw invalid(zipPath, `member ${entry.name} does not inflate: ${(err as Error).message}`);
        throw err;
    }
    if (written !== entry.uncompressedSize || (crc >>> 0) !== entry.crc32)
        throw invalid(zipPath, `member ${entry.name} fails its size or CRC-32 check`);
}
