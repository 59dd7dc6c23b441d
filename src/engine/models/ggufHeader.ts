import fsp from "node:fs/promises";
import {ModelError} from "../errors.js";

/** What `readGgufHeader` learns from the start of a GGUF file. */
export interface GgufHeader {
    /** GGUF format version: 2 or 3. */
    version: number;
    tensorCount: number;
    metadataCount: number;
    /** `general.architecture` (for example `llama`, `qwen2`, `gemma3`), when present. */
    architecture?: string;
    /** `general.name`, when present. */
    name?: string;
    /** Byte offset where the metadata ends and the tensor infos begin. */
    metadataEndOffset: number;
}

const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian uint32
const chunkSize = 1 << 20;
// Limits far above anything a real model has; they turn garbage lengths into a clear error instead of a huge read.
const maxKeyLength = 1 << 16;
const maxCount = 2 ** 40;

/** GGUF metadata value types, as numbered in the GGUF spec. */
const enum ValueType {
    UINT8 = 0, INT8 = 1, UINT16 = 2, INT16 = 3, UINT32 = 4, INT32 = 5, FLOAT32 = 6,
    BOOL = 7, STRING = 8, ARRAY = 9, UINT64 = 10, INT64 = 11, FLOAT64 = 12
}

const fixedSizes: Partial<Record<number, number>> = {
    [ValueType.UINT8]: 1, [ValueType.INT8]: 1, [ValueType.BOOL]: 1,
    [ValueType.UINT16]: 2, [ValueType.INT16]: 2,
    [ValueType.UINT32]: 4, [ValueType.INT32]: 4, [ValueType.FLOAT32]: 4,
    [ValueType.UINT64]: 8, [ValueType.INT64]: 8, [ValueType.FLOAT64]: 8
};

class TruncatedError extends Error {}
class MalformedError extends Error {}

/** Sequential little-endian reader over a file handle, reading 1 MiB at a time and skipping without reading. */
class FileCursor {
    private buffer = Buffer.alloc(0);
    private bufferStart = 0;
    public offset = 0;

    public constructor(private readonly handle: fsp.FileHandle, public readonly fileSize: number) {}

    private async ensure(length: number): Promise<Buffer> {
        if (this.offset + length > this.fileSize)
            throw new TruncatedError(`needs ${length} bytes at offset ${this.offset}`);
        const start = this.offset - this.bufferStart;
        if (start >= 0 && start + length <= this.buffer.length)
            return this.buffer.subarray(start, start + length);

        const size = Math.min(Math.max(length, chunkSize), this.fileSize - this.offset);
        const next = Buffer.alloc(size);
        const {bytesRead} = await this.handle.read(next, 0, size, this.offset);
        if (bytesRead < length)
            throw new TruncatedError(`needs ${length} bytes at offset ${this.offset}`);
        this.buffer = next.subarray(0, bytesRead);
        this.bufferStart = this.offset;
        return this.buffer.subarray(0, length);
    }

    public async u32(): Promise<number> {
        const value = (await this.ensure(4)).readUInt32LE(0);
        this.offset += 4;
        return value;
    }

    public async u64(): Promise<number> {
        const value = (await this.ensure(8)).readBigUInt64LE(0);
        this.offset += 8;
        if (value > BigInt(Number.MAX_SAFE_INTEGER))
            throw new MalformedError(`a length of ${value} at offset ${this.offset - 8}`);
        return Number(value);
    }

    public async bytes(length: number): Promise<Buffer> {
        const value = await this.ensure(length);
        this.offset += length;
        return value;
    }

    public skip(length: number): void {
        if (this.offset + length > this.fileSize)
            throw new TruncatedError(`skips ${length} bytes at offset ${this.offset}`);
        this.offset += length;
    }
}

/**
 * Reads the header and the metadata key/value section of a GGUF file (not the tensor infos or data)
 * and returns the version, counts, `general.architecture` and `general.name`.
 * Throws `ModelError` `MODEL_NOT_FOUND` when the file is missing, `MODEL_INVALID` when it is not a GGUF file
 * or ends inside the metadata, and `MODEL_UNSUPPORTED` for GGUF versions other than 2 and 3.
 */
export async function readGgufHeader(filePath: string): Promise<GgufHeader> {
    let handle: fsp.FileHandle;
    try {
        handle = await fsp.open(filePath, "r");
    } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT")
            throw new ModelError("MODEL_NOT_FOUND", `The model file ${filePath} does not exist.`, {cause: err});
        throw new ModelError("MODEL_INVALID", `The model file ${filePath} cannot be read: ${(err as Error).message}.`, {cause: err});
    }
    try {
        const {size} = await handle.stat();
        return await readHeader(new FileCursor(handle, size), filePath);
    } catch (err) {
        if (err instanceof TruncatedError)
            throw new ModelError("MODEL_INVALID",
                `${filePath} is not a complete GGUF model: the file ends inside its header. Download it again.`, {cause: err});
        if (err instanceof MalformedError)
            throw new ModelError("MODEL_INVALID",
                `${filePath} is not a valid GGUF model: its metadata holds ${err.message}. Download it again.`, {cause: err});
        throw err;
    } finally {
        await handle.close();
    }
}

async function readHeader(cursor: FileCursor, filePath: string): Promise<GgufHeader> {
    if (cursor.fileSize < 4 || (await cursor.u32()) !== GGUF_MAGIC)
        throw new ModelError("MODEL_INVALID", `${filePath} is not a GGUF model file (it does not start with "GGUF").`);

    const version = await cursor.u32();
    if (version !== 2 && version !== 3) {
        const hint = version === 1
            ? "version 1 is too old; convert the model again with a current llama.cpp"
            : (version & 0xffff) === 0 ? "it looks big-endian, which Hindsight does not read" : `version ${version} is unknown`;
        throw new ModelError("MODEL_UNSUPPORTED", `${filePath} is a GGUF file Hindsight cannot read: ${hint}.`);
    }

    const tensorCount = await cursor.u64();
    const metadataCount = await cursor.u64();
    if (tensorCount > maxCount || metadataCount > cursor.fileSize)
        throw new MalformedError(`impossible counts (${tensorCount} tensors, ${metadataCount} keys)`);

    let architecture: string | undefined;
    let name: string | undefined;
    for (let i = 0; i < metadataCount; i++) {
        const key = await readString(cursor, maxKeyLength);
        const type: ValueType = await cursor.u32();
        if (type === ValueType.STRING && (key === "general.architecture" || key === "general.name")) {
            const value = await readString(cursor, cursor.fileSize);
            if (key === "general.architecture")
                architecture = value;
            else
                name = value;
        } else {
            await skipValue(cursor, type, 0);
        }
    }
    return {version, tensorCount, metadataCount, architecture, name, metadataEndOffset: cursor.offset};
}

async function readString(cursor: FileCursor, maxLength: number): Promise<string> {
    const length = await cursor.u64();
    if (length > maxLength)
        throw new MalformedError(`a string of ${length} bytes at offset ${cursor.offset - 8}`);
    return (await cursor.bytes(length)).toString("utf8");
}

async function skipValue(cursor: FileCursor, type: ValueType, depth: number): Promise<void> {
    const fixed = fixedSizes[type];
    if (fixed != null) {
        cursor.skip(fixed);
        return;
    }
    if (type === ValueType.STRING) {
        cursor.skip(await cursor.u64());
        return;
    }
    if (type !== ValueType.ARRAY || depth > 4)
        throw new MalformedError(`an unknown value type ${type} at offset ${cursor.offset - 4}`);

    const itemType = await cursor.u32();
    const count = await cursor.u64();
    if (count > cursor.fileSize)
        throw new MalformedError(`an array of ${count} items at offset ${cursor.offset - 8}`);
    const itemSize = fixedSizes[itemType];
    if (itemSize != null) {
        cursor.skip(itemSize * count);
        return;
    }
    for (let i = 0; i < count; i++)
        await skipValue(cursor, itemType, depth + 1);
}
