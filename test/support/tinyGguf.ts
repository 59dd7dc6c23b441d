/**
 * Test support: tiny random-weight GGUF models with real tokenizers.
 *
 * `makeTinyModel` writes a small `llama` (RoPE "norm") or `qwen2` (RoPE "neox",
 * q/k/v biases) model whose tokenizer is copied from one of llama.cpp's
 * vocab-only test GGUFs (`models/ggml-vocab-*.gguf`). Those files are taken at
 * test time from the llama.cpp git bundle that node-llama-cpp ships
 * (`node_modules/node-llama-cpp/llama/gitRelease.bundle`) and cached.
 *
 * Weights are deterministic (seeded PRNG, one stream per tensor name), so the
 * same options always give the same file, and logits can be compared exactly.
 *
 * Cache directory: `$HINDSIGHT_TEST_CACHE` or `<os tmpdir>/hindsight-test-cache`.
 */
import {execFile} from "node:child_process";
import {createHash, randomBytes} from "node:crypto";
import fs from "node:fs";
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import {fileURLToPath} from "node:url";
import {promisify} from "node:util";
import {mulberry32} from "../../src/engine/diagnostics/prng.js";

const execFileAsync = promisify(execFile);

/** Bump when the bytes written for the same options change. */
const WRITER_VERSION = 1;

// ---------------------------------------------------------------------------
// GGUF types

export enum GgufValueType {
    UINT8 = 0,
    INT8 = 1,
    UINT16 = 2,
    INT16 = 3,
    UINT32 = 4,
    INT32 = 5,
    FLOAT32 = 6,
    BOOL = 7,
    STRING = 8,
    ARRAY = 9,
    UINT64 = 10,
    INT64 = 11,
    FLOAT64 = 12
}

/** ggml tensor types this module writes (GGML_TYPE_F32 / GGML_TYPE_F16). */
export enum GgmlType {
    F32 = 0,
    F16 = 1
}

export type GgufScalar = number | bigint | boolean | string;
export type GgufValue = GgufScalar | GgufScalar[];

export interface GgufKv {
    key: string;
    type: GgufValueType;
    /** element type when `type` is ARRAY */
    arrayType?: GgufValueType;
    value: GgufValue;
    /** the encoded type + value bytes as they were in the file (reader only) */
    raw?: Uint8Array;
}

export interface GgufTensorInfo {
    name: string;
    /** ne[0] first (the innermost, contiguous dimension) */
    dims: number[];
    type: number;
    /** offset from the start of the tensor data section */
    offset: bigint;
}

export interface GgufFile {
    version: number;
    kv: GgufKv[];
    metadata: Record<string, GgufValue>;
    tensors: GgufTensorInfo[];
    alignment: number;
    /** absolute file offset of the tensor data section */
    dataOffset: number;
}

const GGUF_MAGIC = 0x46554747; // "GGUF" little-endian
const GGUF_DEFAULT_ALIGNMENT = 32;

// ---------------------------------------------------------------------------
// Reader

/** thrown when the buffer ends before the header does (readGguf then reads more) */
class TruncatedError extends Error {}

class Reader {
    private readonly view: DataView;
    pos = 0;
    private readonly decoder = new TextDecoder("utf-8");

    constructor(private readonly buf: Uint8Array) {
        this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    }

    private need(n: number): void {
        if (this.pos + n > this.buf.byteLength)
            throw new TruncatedError(`GGUF: unexpected end of data at ${this.pos} (need ${n} bytes)`);
    }

    u8(): number { this.need(1); return this.view.getUint8(this.pos++); }
    i8(): number { this.need(1); return this.view.getInt8(this.pos++); }
    u16(): number { this.need(2); const v = this.view.getUint16(this.pos, true); this.pos += 2; return v; }
    i16(): number { this.need(2); const v = this.view.getInt16(this.pos, true); this.pos += 2; return v; }
    u32(): number { this.need(4); const v = this.view.getUint32(this.pos, true); this.pos += 4; return v; }
    i32(): number { this.need(4); const v = this.view.getInt32(this.pos, true); this.pos += 4; return v; }
    f32(): number { this.need(4); const v = this.view.getFloat32(this.pos, true); this.pos += 4; return v; }
    f64(): number { this.need(8); const v = this.view.getFloat64(this.pos, true); this.pos += 8; return v; }
    u64(): bigint { this.need(8); const v = this.view.getBigUint64(this.pos, true); this.pos += 8; return v; }
    i64(): bigint { this.need(8); const v = this.view.getBigInt64(this.pos, true); this.pos += 8; return v; }

    /** a u64 that must fit a JS number (counts, lengths) */
    count(): number {
        const v = this.u64();
        if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`GGUF: count too large: ${v}`);
        return Number(v);
    }

    str(): string {
        const len = this.count();
        this.need(len);
        const s = this.decoder.decode(this.buf.subarray(this.pos, this.pos + len));
        this.pos += len;
        return s;
    }

    scalar(type: GgufValueType): GgufScalar {
        switch (type) {
            case GgufValueType.UINT8: return this.u8();
            case GgufValueType.INT8: return this.i8();
            case GgufValueType.UINT16: return this.u16();
            case GgufValueType.INT16: return this.i16();
            case GgufValueType.UINT32: return this.u32();
            case GgufValueType.INT32: return this.i32();
            case GgufValueType.FLOAT32: return this.f32();
            case GgufValueType.BOOL: return this.u8() !== 0;
            case GgufValueType.STRING: return this.str();
            case GgufValueType.UINT64: return this.u64();
            case GgufValueType.INT64: return this.i64();
            case GgufValueType.FLOAT64: return this.f64();
            default: throw new Error(`GGUF: unknown scalar value type ${type} at ${this.pos}`);
        }
    }

    slice(start: number, end: number): Uint8Array {
        return this.buf.subarray(start, end);
    }
}

/** Parse a GGUF (v2/v3) header: metadata key/value pairs and tensor infos. */
export function parseGguf(buf: Uint8Array): GgufFile {
    const r = new Reader(buf);
    const magic = r.u32();
    if (magic !== GGUF_MAGIC) throw new Error("GGUF: bad magic (not a GGUF file)");
    const version = r.u32();
    if (version !== 2 && version !== 3) throw new Error(`GGUF: unsupported version ${version}`);
    const nTensors = r.count();
    const nKv = r.count();

    const kv: GgufKv[] = [];
    const metadata: Record<string, GgufValue> = {};
    for (let i = 0; i < nKv; i++) {
        const key = r.str();
        const start = r.pos;
        const type = r.u32() as GgufValueType;
        let value: GgufValue;
        let arrayType: GgufValueType | undefined;
        if (type === GgufValueType.ARRAY) {
            arrayType = r.u32() as GgufValueType;
            if (arrayType === GgufValueType.ARRAY) throw new Error(`GGUF: nested arrays are not supported (${key})`);
            const n = r.count();
            const arr: GgufScalar[] = new Array(n);
            for (let j = 0; j < n; j++) arr[j] = r.scalar(arrayType);
            value = arr;
        } else {
            value = r.scalar(type);
        }
        const entry: GgufKv = {key, type, value, raw: r.slice(start, r.pos)};
        if (arrayType !== undefined) entry.arrayType = arrayType;
        kv.push(entry);
        metadata[key] = value;
    }

    const tensors: GgufTensorInfo[] = [];
    for (let i = 0; i < nTensors; i++) {
        const name = r.str();
        const nDims = r.u32();
        const dims: number[] = [];
        for (let d = 0; d < nDims; d++) dims.push(r.count());
        const type = r.u32();
        const offset = r.u64();
        tensors.push({name, dims, type, offset});
    }

    const alignRaw = metadata["general.alignment"];
    const alignment = typeof alignRaw === "number" ? alignRaw : GGUF_DEFAULT_ALIGNMENT;
    const dataOffset = alignUp(r.pos, alignment);
    return {version, kv, metadata, tensors, alignment, dataOffset};
}

/** Read and parse a GGUF file's header (metadata and tensor infos; tensor data is not read). */
export async function readGguf(filePath: string): Promise<GgufFile> {
    const fh = await fsp.open(filePath, "r");
    try {
        const size = (await fh.stat()).size;
        for (let n = Math.min(size, 1 << 20); ; n = Math.min(size, n * 4)) {
            const buf = Buffer.alloc(n);
            const {bytesRead} = await fh.read(buf, 0, n, 0);
            try {
                return parseGguf(buf.subarray(0, bytesRead));
            } catch (err) {
                if (!(err instanceof TruncatedError) || n >= size) throw err;
            }
        }
    } finally {
        await fh.close();
    }
}

// ---------------------------------------------------------------------------
// Writer

/** A metadata entry to write: either typed, or raw bytes (type + value) copied from another file. */
export type GgufKvToWrite =
    | {key: string; type: GgufValueType; arrayType?: GgufValueType; value: GgufValue}
    | {key: string; raw: Uint8Array};

export interface GgufTensorToWrite {
    name: string;
    /** ne[0] first */
    dims: number[];
    type: GgmlType;
    /** fill `out` (length = product of dims) with the tensor's values */
    fill(out: Float32Array): void;
}

class ByteSink {
    private chunks: Uint8Array[] = [];
    private cur: Buffer = Buffer.alloc(1 << 16);
    private pos = 0;
    length = 0;

    private ensure(n: number): void {
        if (this.pos + n <= this.cur.length) return;
        this.flushCur();
        this.cur = Buffer.alloc(Math.max(1 << 16, n));
    }

    /** hand the filled part of `cur` over to `chunks`; keep writing into the rest */
    private flushCur(): void {
        if (this.pos === 0) return;
        this.chunks.push(this.cur.subarray(0, this.pos));
        this.cur = this.cur.subarray(this.pos);
        this.pos = 0;
    }

    u32(v: number): void { this.ensure(4); this.cur.writeUInt32LE(v, this.pos); this.pos += 4; this.length += 4; }
    u64(v: number | bigint): void { this.ensure(8); this.cur.writeBigUInt64LE(BigInt(v), this.pos); this.pos += 8; this.length += 8; }

    bytes(b: Uint8Array): void {
        this.flushCur();
        this.chunks.push(b);
        this.length += b.byteLength;
    }

    str(s: string): void {
        const b = Buffer.from(s, "utf-8");
        this.u64(b.byteLength);
        this.bytes(b);
    }

    scalar(type: GgufValueType, v: GgufScalar): void {
        this.ensure(8);
        const c = this.cur;
        let n: number;
        switch (type) {
            case GgufValueType.UINT8: c.writeUInt8(Number(v), this.pos); n = 1; break;
            case GgufValueType.INT8: c.writeInt8(Number(v), this.pos); n = 1; break;
            case GgufValueType.UINT16: c.writeUInt16LE(Number(v), this.pos); n = 2; break;
            case GgufValueType.INT16: c.writeInt16LE(Number(v), this.pos); n = 2; break;
            case GgufValueType.UINT32: c.writeUInt32LE(Number(v), this.pos); n = 4; break;
            case GgufValueType.INT32: c.writeInt32LE(Number(v), this.pos); n = 4; break;
            case GgufValueType.FLOAT32: c.writeFloatLE(Number(v), this.pos); n = 4; break;
            case GgufValueType.BOOL: c.writeUInt8(v ? 1 : 0, this.pos); n = 1; break;
            case GgufValueType.UINT64: c.writeBigUInt64LE(BigInt(v), this.pos); n = 8; break;
            case GgufValueType.INT64: c.writeBigInt64LE(BigInt(v), this.pos); n = 8; break;
            case GgufValueType.FLOAT64: c.writeDoubleLE(Number(v), this.pos); n = 8; break;
            case GgufValueType.STRING: this.str(String(v)); return;
            default: throw new Error(`GGUF: cannot write value type ${type}`);
        }
        this.pos += n;
        this.length += n;
    }

    pad(alignment: number): void {
        const n = alignUp(this.length, alignment) - this.length;
        if (n > 0) this.bytes(new Uint8Array(n));
    }

    toBuffer(): Buffer {
        this.flushCur();
        return Buffer.concat(this.chunks, this.length);
    }
}

function alignUp(n: number, alignment: number): number {
    return Math.ceil(n / alignment) * alignment;
}

function tensorBytes(t: {dims: number[]; type: GgmlType}): number {
    const n = t.dims.reduce((a, b) => a * b, 1);
    switch (t.type) {
        case GgmlType.F32: return n * 4;
        case GgmlType.F16: return n * 2;
        default: throw new Error(`unsupported tensor type ${t.type}`);
    }
}

/**
 * Write a GGUF v3 file. Tensor data is generated one tensor at a time through
 * `fill`, so memory stays at about one tensor.
 */
export async function writeGguf(
    filePath: string,
    kv: GgufKvToWrite[],
    tensors: GgufTensorToWrite[],
    alignment: number = GGUF_DEFAULT_ALIGNMENT
): Promise<void> {
    const head = new ByteSink();
    head.u32(GGUF_MAGIC);
    head.u32(3);
    head.u64(tensors.length);
    head.u64(kv.length);
    for (const e of kv) {
        head.str(e.key);
        if ("raw" in e) {
            head.bytes(e.raw);
            continue;
        }
        head.u32(e.type);
        if (e.type === GgufValueType.ARRAY) {
            if (e.arrayType === undefined || !Array.isArray(e.value))
                throw new Error(`GGUF: array entry ${e.key} needs arrayType and an array value`);
            head.u32(e.arrayType);
            head.u64(e.value.length);
            for (const v of e.value) head.scalar(e.arrayType, v);
        } else {
            if (Array.isArray(e.value)) throw new Error(`GGUF: scalar entry ${e.key} has an array value`);
            head.scalar(e.type, e.value);
        }
    }
    let offset = 0;
    for (const t of tensors) {
        head.str(t.name);
        head.u32(t.dims.length);
        for (const d of t.dims) head.u64(d);
        head.u32(t.type);
        head.u64(offset);
        offset = alignUp(offset + tensorBytes(t), alignment);
    }
    head.pad(alignment);

    const fh = await fsp.open(filePath, "w");
    try {
        await fh.write(head.toBuffer());
        let written = 0;
        for (const t of tensors) {
            const n = t.dims.reduce((a, b) => a * b, 1);
            const f32 = new Float32Array(n);
            t.fill(f32);
            let bytes: Uint8Array;
            if (t.type === GgmlType.F32) bytes = new Uint8Array(f32.buffer, f32.byteOffset, f32.byteLength);
            else bytes = new Uint8Array(f32ToF16(f32).buffer);
            await fh.write(bytes);
            written += bytes.byteLength;
            const padded = alignUp(written, alignment);
            if (padded > written) {
                await fh.write(new Uint8Array(padded - written));
                written = padded;
            }
        }
    } finally {
        await fh.close();
    }
}

/** Round-to-nearest-even float32 -> float16 bits. */
export function f32ToF16(src: Float32Array): Uint16Array {
    const out = new Uint16Array(src.length);
    const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
    for (let i = 0; i < src.length; i++) {
        const x = bits[i]!;
        const sign = (x >>> 16) & 0x8000;
        const exp = (x >>> 23) & 0xff;
        let mant = x & 0x7fffff;
        if (exp === 0xff) { // inf / nan
            out[i] = sign | 0x7c00 | (mant ? 0x200 : 0);
            continue;
        }
        const e = exp - 127 + 15;
        if (e >= 0x1f) { out[i] = sign | 0x7c00; continue; }
        if (e <= 0) {
            if (e < -10) { out[i] = sign; continue; }
            mant |= 0x800000;
            const shift = 14 - e;
            let h = mant >>> shift;
            const rem = mant & ((1 << shift) - 1);
            const half = 1 << (shift - 1);
            if (rem > half || (rem === half && (h & 1))) h++;
            out[i] = sign | h;
            continue;
        }
        let h = (e << 10) | (mant >>> 13);
        const rem = mant & 0x1fff;
        if (rem > 0x1000 || (rem === 0x1000 && (h & 1))) h++; // may carry into exponent: correct
        out[i] = sign | h;
    }
    return out;
}

// ---------------------------------------------------------------------------
// Vocab GGUFs from node-llama-cpp's llama.cpp git bundle

/** Vocab-only GGUFs in llama.cpp's `models/` (file `ggml-vocab-<name>.gguf`). */
export type TinyVocabName =
    | "llama-spm" | "llama-bpe" | "qwen2" | "phi-3" | "gpt-2" | "starcoder" | "deepseek-coder"
    | "deepseek-llm" | "falcon" | "mpt" | "refact" | "command-r" | "baichuan" | "aquila" | (string & {});

export function testCacheDir(): string {
    return process.env.HINDSIGHT_TEST_CACHE ?? path.join(os.tmpdir(), "hindsight-test-cache");
}

let bundlePathCache: string | undefined;

/** Path of node-llama-cpp's `llama/gitRelease.bundle` (override: `$HINDSIGHT_LLAMA_BUNDLE`). */
export function llamaCppBundlePath(): string {
    if (process.env.HINDSIGHT_LLAMA_BUNDLE) return process.env.HINDSIGHT_LLAMA_BUNDLE;
    if (bundlePathCache) return bundlePathCache;
    const candidates: string[] = [];
    try {
        candidates.push(path.dirname(fileURLToPath(import.meta.resolve("node-llama-cpp"))));
    } catch { /* fall through */ }
    candidates.push(path.dirname(fileURLToPath(import.meta.url)), process.cwd());
    for (const start of candidates) {
        let dir = start;
        for (;;) {
            for (const rel of ["llama/gitRelease.bundle", "node_modules/node-llama-cpp/llama/gitRelease.bundle"]) {
                const p = path.join(dir, rel);
                if (fs.existsSync(p)) return (bundlePathCache = p);
            }
            const parent = path.dirname(dir);
            if (parent === dir) break;
            dir = parent;
        }
    }
    throw new Error("tinyGguf: cannot find node-llama-cpp's llama/gitRelease.bundle");
}

async function git(args: string[]): Promise<string> {
    const {stdout} = await execFileAsync("git", args, {maxBuffer: 64 * 1024 * 1024, encoding: "utf8"});
    return stdout;
}

async function bundleCommit(bundle: string): Promise<string> {
    const heads = await git(["bundle", "list-heads", bundle]);
    const line = heads.split("\n").find((l) => /\sHEAD$/.test(l)) ?? heads.split("\n")[0] ?? "";
    const commit = line.split(/\s/)[0] ?? "";
    if (!/^[0-9a-f]{40,64}$/.test(commit)) throw new Error(`tinyGguf: cannot read the bundle's HEAD: ${heads}`);
    return commit;
}

const vocabPromises = new Map<string, Promise<string>>();

/**
 * Path of `models/ggml-vocab-<name>.gguf` extracted from the llama.cpp git
 * bundle into the test cache (extracted once per bundle commit).
 */
export function getVocabGguf(name: TinyVocabName): Promise<string> {
    let p = vocabPromises.get(name);
    if (!p) {
        p = extractVocab(name);
        p.catch(() => vocabPromises.delete(name));
        vocabPromises.set(name, p);
    }
    return p;
}

async function extractVocab(name: string): Promise<string> {
    if (!/^[a-z0-9._-]+$/i.test(name)) throw new Error(`tinyGguf: bad vocab name ${JSON.stringify(name)}`);
    const bundle = llamaCppBundlePath();
    const commit = await bundleCommit(bundle);
    const vocabDir = path.join(testCacheDir(), "vocab", commit.slice(0, 12));
    const out = path.join(vocabDir, `ggml-vocab-${name}.gguf`);
    if (fs.existsSync(out)) return out;
    await fsp.mkdir(vocabDir, {recursive: true});

    const gitDir = await ensureBundleRepo(bundle, commit);
    const tmp = `${out}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
    try {
        const {stdout} = await execFileAsync(
            "git", ["--git-dir", gitDir, "cat-file", "blob", `${commit}:models/ggml-vocab-${name}.gguf`],
            {maxBuffer: 256 * 1024 * 1024, encoding: "buffer"}
        );
        await fsp.writeFile(tmp, stdout);
        await fsp.rename(tmp, out);
    } catch (err) {
        await fsp.rm(tmp, {force: true});
        throw new Error(`tinyGguf: cannot extract ggml-vocab-${name}.gguf from ${bundle}: ${(err as Error).message}`);
    }
    return out;
}

/** A bare repo holding the bundle's objects, created once per commit (atomically, by rename). */
async function ensureBundleRepo(bundle: string, commit: string): Promise<string> {
    const root = testCacheDir();
    const gitDir = path.join(root, `llama-bundle-${commit.slice(0, 12)}.git`);
    if (fs.existsSync(path.join(gitDir, "refs", "heads", "bundle"))) return gitDir;
    const tmp = `${gitDir}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
    try {
        await git(["--git-dir", tmp, "init", "--bare", "-q"]);
        await git(["--git-dir", tmp, "fetch", "-q", bundle, "HEAD:refs/heads/bundle"]);
        try {
            await fsp.rename(tmp, gitDir);
        } catch (err) {
            // another process won the race
            if (!fs.existsSync(path.join(gitDir, "refs", "heads", "bundle"))) throw err;
        }
    } finally {
        await fsp.rm(tmp, {recursive: true, force: true});
    }
    return gitDir;
}

// ---------------------------------------------------------------------------
// Tiny models

export type TinyArch = "llama" | "qwen2";

export interface TinyModelOptions {
    arch: TinyArch;
    /** default 2 */
    nLayer?: number;
    /** default 128 */
    nEmbd?: number;
    /** default 4 (head_dim = nEmbd / nHead) */
    nHead?: number;
    /** default 2 */
    nHeadKv?: number;
    /** default 2 * nEmbd */
    nFf?: number;
    /** default 4096 */
    contextLength?: number;
    /** default 1 */
    seed?: number;
    /** default 10000 (llama) / 1000000 (qwen2) */
    ropeFreqBase?: number;
    /** default 1e-5 (llama) / 1e-6 (qwen2) */
    rmsEps?: number;
    /** tokenizer source; default "llama-spm" (llama, 32000 tokens) / "qwen2" (qwen2, 151665 tokens) */
    vocab?: TinyVocabName;
    /** weight type; default "f32" (norms and biases are always f32) */
    dtype?: "f32" | "f16";
    /** directory for the model file; default `<test cache>/models` */
    dir?: string;
}

/** The fully resolved shape of a tiny model (what `makeTinyModel` writes). */
export interface TinyModelShape {
    arch: TinyArch;
    nLayer: number;
    nEmbd: number;
    nHead: number;
    nHeadKv: number;
    headDim: number;
    nFf: number;
    contextLength: number;
    seed: number;
    ropeFreqBase: number;
    rmsEps: number;
    vocab: string;
    dtype: "f32" | "f16";
}

export function resolveTinyModelShape(opts: TinyModelOptions): TinyModelShape {
    if (opts.arch !== "llama" && opts.arch !== "qwen2") throw new Error(`tinyGguf: unsupported arch ${String(opts.arch)}`);
    const nEmbd = opts.nEmbd ?? 128;
    const nHead = opts.nHead ?? 4;
    const nHeadKv = opts.nHeadKv ?? 2;
    const shape: TinyModelShape = {
        arch: opts.arch,
        nLayer: opts.nLayer ?? 2,
        nEmbd,
        nHead,
        nHeadKv,
        headDim: nEmbd / nHead,
        nFf: opts.nFf ?? 2 * nEmbd,
        contextLength: opts.contextLength ?? 4096,
        seed: opts.seed ?? 1,
        ropeFreqBase: opts.ropeFreqBase ?? (opts.arch === "qwen2" ? 1_000_000 : 10_000),
        rmsEps: opts.rmsEps ?? (opts.arch === "qwen2" ? 1e-6 : 1e-5),
        vocab: opts.vocab ?? (opts.arch === "qwen2" ? "qwen2" : "llama-spm"),
        dtype: opts.dtype ?? "f32"
    };
    for (const k of ["nLayer", "nEmbd", "nHead", "nHeadKv", "nFf", "contextLength"] as const)
        if (!Number.isInteger(shape[k]) || shape[k] <= 0) throw new Error(`tinyGguf: ${k} must be a positive integer`);
    if (!Number.isInteger(shape.headDim)) throw new Error("tinyGguf: nEmbd must be a multiple of nHead");
    if (shape.headDim % 2 !== 0) throw new Error("tinyGguf: head_dim (nEmbd / nHead) must be even for RoPE");
    if (nHead % nHeadKv !== 0) throw new Error("tinyGguf: nHead must be a multiple of nHeadKv");
    return shape;
}

function hash32(s: string): number {
    return createHash("sha256").update(s).digest().readUInt32LE(0);
}

/**
 * Fill with values of mean 0 and standard deviation `std` (uniform, not normal:
 * cheaper, and the shape of the distribution does not matter here). The stream
 * depends only on (seed, tensor name), not on the order tensors are written.
 */
function randomFill(seed: number, name: string, std: number): (out: Float32Array) => void {
    return (out) => {
        const rnd = mulberry32(hash32(`${seed}:${name}`));
        const a = std * Math.sqrt(3) * 2;
        for (let i = 0; i < out.length; i++) out[i] = (rnd() - 0.5) * a;
    };
}

function constFill(v: number): (out: Float32Array) => void {
    return (out) => { out.fill(v); };
}

const modelPromises = new Map<string, Promise<string>>();

/**
 * Write (or reuse from the cache) a tiny random-weight model and return the
 * path of its `.gguf`. Same options -> same bytes.
 */
export async function makeTinyModel(opts: TinyModelOptions): Promise<string> {
    const shape = resolveTinyModelShape(opts);
    const vocabPath = await getVocabGguf(shape.vocab);
    const vocabStat = await fsp.stat(vocabPath);
    const key = createHash("sha256")
        .update(JSON.stringify({v: WRITER_VERSION, shape, vocabSize: vocabStat.size, vocabDir: path.basename(path.dirname(vocabPath))}))
        .digest("hex")
        .slice(0, 16);
    const dir = opts.dir ?? path.join(testCacheDir(), "models");
    const out = path.join(dir, `tiny-${shape.arch}-${shape.vocab}-L${shape.nLayer}-E${shape.nEmbd}-H${shape.nHead}-KV${shape.nHeadKv}-${key}.gguf`);

    let p = modelPromises.get(out);
    if (!p) {
        p = (async () => {
            if (fs.existsSync(out)) return out;
            await fsp.mkdir(dir, {recursive: true});
            const tmp = `${out}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
            try {
                await writeTinyModel(tmp, shape, vocabPath);
                await fsp.rename(tmp, out);
            } finally {
                await fsp.rm(tmp, {force: true});
            }
            return out;
        })();
        p.catch(() => modelPromises.delete(out));
        modelPromises.set(out, p);
    }
    return p;
}

async function writeTinyModel(filePath: string, s: TinyModelShape, vocabPath: string): Promise<void> {
    const vocab = await readGguf(vocabPath);
    const tokens = vocab.metadata["tokenizer.ggml.tokens"];
    if (!Array.isArray(tokens) || tokens.length === 0) throw new Error(`tinyGguf: ${vocabPath} has no tokenizer.ggml.tokens`);
    const nVocab = tokens.length;
    const a = s.arch;
    const U32 = GgufValueType.UINT32;
    const F32 = GgufValueType.FLOAT32;

    const kv: GgufKvToWrite[] = [
        {key: "general.architecture", type: GgufValueType.STRING, value: a},
        {key: "general.name", type: GgufValueType.STRING, value: `hindsight-tiny-${a}-${s.vocab}`},
        {key: "general.alignment", type: U32, value: GGUF_DEFAULT_ALIGNMENT},
        // LLAMA_FTYPE_ALL_F32 = 0, LLAMA_FTYPE_MOSTLY_F16 = 1
        {key: "general.file_type", type: U32, value: s.dtype === "f16" ? 1 : 0},
        {key: `${a}.vocab_size`, type: U32, value: nVocab},
        {key: `${a}.context_length`, type: U32, value: s.contextLength},
        {key: `${a}.embedding_length`, type: U32, value: s.nEmbd},
        {key: `${a}.block_count`, type: U32, value: s.nLayer},
        {key: `${a}.feed_forward_length`, type: U32, value: s.nFf},
        {key: `${a}.attention.head_count`, type: U32, value: s.nHead},
        {key: `${a}.attention.head_count_kv`, type: U32, value: s.nHeadKv},
        {key: `${a}.rope.dimension_count`, type: U32, value: s.headDim},
        {key: `${a}.rope.freq_base`, type: F32, value: s.ropeFreqBase},
        {key: `${a}.attention.layer_norm_rms_epsilon`, type: F32, value: s.rmsEps}
    ];
    for (const e of vocab.kv)
        if (e.key.startsWith("tokenizer.")) kv.push({key: e.key, raw: e.raw!});

    const wt = s.dtype === "f16" ? GgmlType.F16 : GgmlType.F32;
    const nKvDim = s.nHeadKv * s.headDim;
    const tensors: GgufTensorToWrite[] = [];
    // Scales: projections ~ 1/sqrt(fan_in) so activations stay O(1) through the
    // residual stream; output ~ 2/sqrt(nEmbd) so logits have std ~2 (max ~8).
    const mat = (name: string, nIn: number, nOut: number, gain = 1): GgufTensorToWrite =>
        ({name, dims: [nIn, nOut], type: wt, fill: randomFill(s.seed, name, gain / Math.sqrt(nIn))});
    const vec = (name: string, n: number, fill: (o: Float32Array) => void): GgufTensorToWrite =>
        ({name, dims: [n], type: GgmlType.F32, fill});

    tensors.push({name: "token_embd.weight", dims: [s.nEmbd, nVocab], type: wt, fill: randomFill(s.seed, "token_embd.weight", 1)});
    for (let i = 0; i < s.nLayer; i++) {
        const b = `blk.${i}`;
        tensors.push(vec(`${b}.attn_norm.weight`, s.nEmbd, constFill(1)));
        tensors.push(mat(`${b}.attn_q.weight`, s.nEmbd, s.nEmbd, 1.5));
        tensors.push(mat(`${b}.attn_k.weight`, s.nEmbd, nKvDim, 1.5));
        tensors.push(mat(`${b}.attn_v.weight`, s.nEmbd, nKvDim));
        if (a === "qwen2") {
            tensors.push(vec(`${b}.attn_q.bias`, s.nEmbd, randomFill(s.seed, `${b}.attn_q.bias`, 0.2)));
            tensors.push(vec(`${b}.attn_k.bias`, nKvDim, randomFill(s.seed, `${b}.attn_k.bias`, 0.5)));
            tensors.push(vec(`${b}.attn_v.bias`, nKvDim, randomFill(s.seed, `${b}.attn_v.bias`, 0.2)));
        }
        tensors.push(mat(`${b}.attn_output.weight`, s.nEmbd, s.nEmbd));
        tensors.push(vec(`${b}.ffn_norm.weight`, s.nEmbd, constFill(1)));
        tensors.push(mat(`${b}.ffn_gate.weight`, s.nEmbd, s.nFf));
        tensors.push(mat(`${b}.ffn_up.weight`, s.nEmbd, s.nFf));
        tensors.push(mat(`${b}.ffn_down.weight`, s.nFf, s.nEmbd));
    }
    tensors.push(vec("output_norm.weight", s.nEmbd, constFill(1)));
    tensors.push(mat("output.weight", s.nEmbd, nVocab, 2));

    await writeGguf(filePath, kv, tensors, GGUF_DEFAULT_ALIGNMENT);
}
