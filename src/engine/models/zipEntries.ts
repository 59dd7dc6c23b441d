import type fsp from "node:fs/promises";
import {Transform, Writable, type Readable} from "node:stream";
import {pipeline} from "node:stream/promises";
import zlib from "node:zlib";
import yauzl from "yauzl";
import {AbortedError, HindsightError} from "../errors.js";

/**
 * Zip archives (Python wheels) through yauzl: the central directory (ZIP64 included), and members streamed out
 * with their declared size enforced while they inflate and their CRC-32 checked at the end. A member that
 * inflates past its declared size is stopped at that size; members that share or overlap their bytes (one
 * member listed many times, a zip-bomb trick) are refused when the directory is read; encrypted members and
 * methods other than stored and deflated are refused.
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

function invalid(zipPath: string, detail: string, cause?: unknown): HindsightError {
    return new HindsightError("DOWNLOAD_FAILED", `The downloaded archive ${zipPath} is not a readable zip file (${detail}). Download it again.`,
        cause == null ? undefined : {cause});
}

async function openZip(zipPath: string): Promise<yauzl.ZipFile> {
    try {
        return await yauzl.openPromise(zipPath, {lazyEntries: true, autoClose: false, validateEntrySizes: true, decodeStrings: true});
    } catch (err) {
        throw invalid(zipPath, (err as Error).message, err);
    }
}

/** Every central-directory entry of `zip`, in order. */
async function readAll(zip: yauzl.ZipFile, zipPath: string): Promise<yauzl.Entry[]> {
    return new Promise((resolve, reject) => {
        const entries: yauzl.Entry[] = [];
        zip.on("entry", (entry: yauzl.Entry) => {
            entries.push(entry);
            zip.readEntry();
        });
        zip.once("end", () => resolve(entries));
        zip.once("error", (err: Error) => reject(invalid(zipPath, err.message, err)));
        zip.readEntry();
    });
}

function toZipEntry(entry: yauzl.Entry): ZipEntry {
    return {
        name: entry.fileName,
        method: entry.compressionMethod,
        compressedSize: entry.compressedSize,
        uncompressedSize: entry.uncompressedSize,
        crc32: entry.crc32,
        localHeaderOffset: entry.relativeOffsetOfLocalHeader
    };
}

/**
 * Refuses entries whose bytes overlap: each member's local header and data must end before the next one begins.
 * The local header is at least 30 bytes plus the name; its extra field can only make a member longer.
 */
function checkNoOverlap(entries: readonly yauzl.Entry[], zipPath: string): void {
    const byOffset = [...entries].sort((a, b) => a.relativeOffsetOfLocalHeader - b.relativeOffsetOfLocalHeader);
    for (let i = 1; i < byOffset.length; i++) {
        const previous = byOffset[i - 1]!;
        const end = previous.relativeOffsetOfLocalHeader + 30 + previous.fileNameRaw.length + previous.compressedSize;
        if (byOffset[i]!.relativeOffsetOfLocalHeader < end)
            throw invalid(zipPath, `members ${previous.fileName} and ${byOffset[i]!.fileName} share their bytes; ` +
                "an archive that lists one member several times is refused");
    }
}

/** Lists the members of the zip archive at `zipPath` from its central directory. */
export async function readZipEntries(zipPath: string): Promise<ZipEntry[]> {
    const zip = await openZip(zipPath);
    try {
        const entries = await readAll(zip, zipPath);
        const names = new Set<string>();
        for (const entry of entries) {
            if (entry.isEncrypted())
                throw invalid(zipPath, `member ${entry.fileName} is encrypted`);
            if (names.has(entry.fileName))
                throw invalid(zipPath, `member ${entry.fileName} is listed twice`);
            names.add(entry.fileName);
        }
        checkNoOverlap(entries, zipPath);
        return entries.map(toZipEntry);
    } finally {
        zip.close();
    }
}

/**
 * Streams the uncompressed bytes of `entry` into `output` at its current position (so several members can be
 * concatenated into one file). `onBytes` receives the running count for this member.
 */
export async function extractZipEntry(zipPath: string, entry: ZipEntry, output: fsp.FileHandle,
    options: {signal?: AbortSignal, onBytes?: (written: number) => void} = {}): Promise<void> {
    let written = 0;
    await streamEntry(zipPath, entry, new Writable({
        highWaterMark: 1 << 20,
        write(chunk: Buffer, _encoding, callback) {
            output.write(chunk).then(() => {
                written += chunk.length;
                options.onBytes?.(written);
                callback();
            }, callback);
        }
    }), options.signal);
}

/** The uncompressed bytes of a small member (such as a wheel's METADATA), refusing members over `maxBytes`. */
export async function readZipEntry(zipPath: string, entry: ZipEntry, maxBytes = 1 << 20): Promise<Buffer> {
    if (entry.uncompressedSize > maxBytes)
        throw invalid(zipPath, `member ${entry.name} is larger than ${maxBytes} bytes`);
    const chunks: Buffer[] = [];
    await streamEntry(zipPath, entry, new Writable({
        write(chunk: Buffer, _encoding, callback) {
            chunks.push(chunk);
            callback();
        }
    }), undefined);
    return Buffer.concat(chunks);
}

/**
 * Finds `entry` again in the archive's own directory (the sizes, method and CRC that count are the archive's,
 * not the caller's) and pipes its bytes into `sink`. yauzl stops a deflated member the moment it inflates past
 * its declared size; stored members are read for exactly their size; the CRC-32 is compared at the end.
 */
async function streamEntry(zipPath: string, wanted: ZipEntry, sink: Writable, signal: AbortSignal | undefined): Promise<void> {
    const zip = await openZip(zipPath);
    try {
        const entries = await readAll(zip, zipPath);
        checkNoOverlap(entries, zipPath);
        const entry = entries.find((candidate) =>
            candidate.fileName === wanted.name && candidate.relativeOffsetOfLocalHeader === wanted.localHeaderOffset);
        if (entry == null)
            throw invalid(zipPath, `member ${wanted.name} is not in its central directory`);
        if (entry.compressionMethod !== 0 && entry.compressionMethod !== 8)
            throw invalid(zipPath, `member ${entry.fileName} uses compression method ${entry.compressionMethod}`);
        if (entry.isEncrypted())
            throw invalid(zipPath, `member ${entry.fileName} is encrypted`);

        let crc = 0;
        let count = 0;
        const check = new Transform({
            transform(chunk: Buffer, _encoding, callback) {
                crc = zlib.crc32(chunk, crc);
                count += chunk.length;
                callback(null, chunk);
            }
        });
        let source: Readable;
        try {
            source = await zip.openReadStreamPromise(entry);
        } catch (err) {
            throw invalid(zipPath, `member ${entry.fileName}: ${(err as Error).message}`, err);
        }
        try {
            await pipeline(source, check, sink, {signal});
        } catch (err) {
            source.destroy();
            if (signal?.aborted)
                throw new AbortedError();
            const message = (err as Error).message;
            if (message.startsWith("too many bytes in the stream"))
                throw invalid(zipPath, `member ${entry.fileName} inflates past its declared size of ${entry.uncompressedSize} bytes; ` +
                    "it was stopped there", err);
            if (message.startsWith("not enough bytes") || (err as NodeJS.ErrnoException).code?.startsWith("Z_"))
                throw invalid(zipPath, `member ${entry.fileName} does not inflate to its declared size: ${message}`, err);
            throw err;
        }
        if (count !== entry.uncompressedSize || (crc >>> 0) !== entry.crc32)
            throw invalid(zipPath, `member ${entry.fileName} fails its size or CRC-32 check`);
    } finally {
        zip.close();
    }
}
