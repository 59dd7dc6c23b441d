import {KvLogError} from "../errors.js";

/**
 * llama.cpp's sequence-state file ('ggsq' v3), as written by `llama_state_seq_save_file` for one sequence of a
 * context with non-unified KV (one stream per sequence):
 *
 *   u32 magic 'ggsq', u32 version 3, u32 n_token, i32 tokens[n_token],
 *   u32 n_stream, then per stream: u32 cell_count, and when cell_count > 0:
 *     meta: per cell  i32 pos, u32 n_seq_id (= 1), i32 seq_id
 *     data: u32 v_trans, u32 n_layer,
 *           per layer: i32 k_type, u64 k_row_size, k rows [cell_count][k_row_size]
 *           per layer: i32 v_type, then either u64 v_row_size + v rows [cell_count][v_row_size]
 *                      or (v_trans) u32 v_el_size, u32 n_embd_v, v values [n_embd_v][cell_count][v_el_size]
 *
 * Models whose cells carry extra per-cell data (M-RoPE, PLE) are not supported; they are refused earlier.
 */
export const GGSQ_MAGIC = 0x67677371;
export const GGSQ_VERSION = 3;

export interface KvLayerLayout {
    kType: number;
    kRowSize: number;
    vType: number;
    /** Bytes of V per cell (`v_el_size * n_embd_v` when transposed). */
    vRowSize: number;
    /** Transposed V only: bytes per element and number of elements per cell. */
    vElSize: number;
    nEmbdV: number;
}

export interface KvLayerData extends KvLayerLayout {
    /** [nCells][kRowSize] */
    k: Uint8Array;
    /** [nCells][vRowSize], or [nEmbdV][nCells][vElSize] when transposed */
    v: Uint8Array;
}

/** The cells of one sequence: positions are implicit or given separately. */
export interface KvCells {
    nCells: number;
    vTrans: boolean;
    layers: KvLayerData[];
}

export interface ParsedSeqState {
    tokens: Uint32Array;
    nStream: number;
    streamIndex: number;
    positions: Int32Array;
    cells: KvCells;
}

export class Reader {
    public offset = 0;
    private readonly view: DataView;

    public constructor(private readonly buf: Uint8Array, private readonly what: string) {
        this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    }

    private need(n: number): void {
        if (this.offset + n > this.buf.byteLength)
            throw new KvLogError("KV_CORRUPT", `The ${this.what} is truncated (needs ${this.offset + n} bytes, has ${this.buf.byteLength}).`);
    }

    public u32(): number { this.need(4); const v = this.view.getUint32(this.offset, true); this.offset += 4; return v; }
    public i32(): number { this.need(4); const v = this.view.getInt32(this.offset, true); this.offset += 4; return v; }
    public u64(): number {
        this.need(8);
        const v = this.view.getBigUint64(this.offset, true);
        this.offset += 8;
        if (v > BigInt(Number.MAX_SAFE_INTEGER))
            throw new KvLogError("KV_CORRUPT", `The ${this.what} holds an impossible size.`);
        return Number(v);
    }
    public bytes(n: number): Uint8Array {
        if (!Number.isSafeInteger(n) || n < 0)
            throw new KvLogError("KV_CORRUPT", `The ${this.what} holds an impossible size.`);
        this.need(n);
        const out = this.buf.subarray(this.offset, this.offset + n);
        this.offset += n;
        return out;
    }
    public get remaining(): number { return this.buf.byteLength - this.offset; }
}

/** Reads the KV data section (v_trans, n_layer, K, V) of `nCells` cells. Shared by the ggsq parser and the log blob. */
export function readKvData(r: Reader, nCells: number): KvCells {
    const vTransRaw = r.u32();
    if (vTransRaw > 1)
        throw new KvLogError("KV_CORRUPT", "The KV data has an invalid V layout flag.");
    const vTrans = vTransRaw === 1;
    const nLayer = r.u32();
    if (nLayer === 0 || nLayer > 4096)
        throw new KvLogError("KV_CORRUPT", `The KV data claims ${nLayer} layers.`);

    const layers: KvLayerData[] = [];
    for (let l = 0; l < nLayer; l++) {
        const kType = r.i32();
        const kRowSize = r.u64();
        const k = r.bytes(kRowSize * nCells);
        layers.push({kType, kRowSize, k, vType: -1, vRowSize: 0, vElSize: 0, nEmbdV: 0, v: new Uint8Array(0)});
    }
    for (let l = 0; l < nLayer; l++) {
        const layer = layers[l]!;
        layer.vType = r.i32();
        if (vTrans) {
            layer.vElSize = r.u32();
            layer.nEmbdV = r.u32();
            layer.vRowSize = layer.vElSize * layer.nEmbdV;
        } else
            layer.vRowSize = r.u64();
        layer.v = r.bytes(layer.vRowSize * nCells);
    }
    return {nCells, vTrans, layers};
}

export function parseSeqState(buf: Uint8Array): ParsedSeqState {
    const r = new Reader(buf, "sequence state");
    if (r.u32() !== GGSQ_MAGIC)
        throw new KvLogError("KV_CORRUPT", "Not a llama.cpp sequence state (bad magic).");
    const version = r.u32();
    if (version !== GGSQ_VERSION)
        throw new KvLogError("KV_CORRUPT", `Unsupported llama.cpp sequence state version ${version}.`);
    const nToken = r.u32();
    const tokenBytes = r.bytes(nToken * 4);
    const tokens = new Uint32Array(nToken);
    new Uint8Array(tokens.buffer).set(tokenBytes);
    const nStream = r.u32();
    if (nStream === 0 || nStream > 1024)
        throw new KvLogError("KV_CORRUPT", `The sequence state claims ${nStream} streams.`);

    let found: {streamIndex: number, positions: Int32Array, cells: KvCells} | null = null;
    for (let s = 0; s < nStream; s++) {
        const cellCount = r.u32();
        if (cellCount === 0)
            continue;
        if (found != null)
            throw new KvLogError("KV_CORRUPT", "The sequence state holds cells in more than one stream.");
        const positions = new Int32Array(cellCount);
        for (let i = 0; i < cellCount; i++) {
            positions[i] = r.i32();
            const nSeq = r.u32();
            if (nSeq !== 1)
                throw new KvLogError("KV_CORRUPT", "The sequence state holds a cell shared by several sequences.");
            r.i32();
        }
        found = {streamIndex: s, positions, cells: readKvData(r, cellCount)};
    }
    if (r.remaining !== 0)
        throw new KvLogError("KV_CORRUPT", `The sequence state has ${r.remaining} unexpected trailing bytes.`);
    if (found == null)
        return {tokens, nStream, streamIndex: 0, positions: new Int32Array(0), cells: {nCells: 0, vTrans: false, layers: []}};
    return {tokens, nStream, ...found};
}

export function openReader(buf: Uint8Array, what: string): Reader {
    return new Reader(buf, what);
}

/** Size in bytes of the KV data section for `nCells` cells of this layout. */
export function kvDataSize(layers: readonly KvLayerLayout[], vTrans: boolean, nCells: number): number {
    let size = 8;
    for (const layer of layers)
        size += 4 + 8 + layer.kRowSize * nCells;
    for (const layer of layers)
        size += 4 + (vTrans ? 8 : 8) + layer.vRowSize * nCells;
    return size;
}

/** One part of a stacked sequence: cells to place back to back, with a K transform applied while copying. */
export interface StackPart {
    cells: KvCells;
    tokens: ArrayLike<number>;
    /** Copies `src` K rows of layer `layer` into `dst`, transformed (e.g. re-rotated to a new position). */
    copyK?(layer: number, src: Uint8Array, dst: Uint8Array): void;
}

/**
 * Writes one ggsq v3 buffer that holds the given parts back to back at positions 0..N-1 in stream `streamIndex`
 * of `nStream`. Each part's K rows go through its `copyK` (a plain copy by default); V is copied (and
 * re-interleaved when transposed). One allocation, one pass over the data.
 */
export function writeStackedSeqState(parts: readonly StackPart[], nStream: number, streamIndex: number, seqId: number): Uint8Array {
    if (parts.length === 0)
        throw new RangeError("Nothing to stack");
    const first = parts[0]!.cells;
    const nLayer = first.layers.length;
    for (const part of parts)
        assertSameLayout(first, part.cells);

    const nCells = parts.reduce((n, p) => n + p.cells.nCells, 0);
    const headerSize = 12 + nCells * 4 + 4 + nStream * 4 + nCells * 12;
    const total = headerSize + kvDataSize(first.layers, first.vTrans, nCells);
    const out = new Uint8Array(total);
    const view = new DataView(out.buffer);
    let o = 0;
    const u32 = (v: number) => { view.setUint32(o, v, true); o += 4; };
    const i32 = (v: number) => { view.setInt32(o, v, true); o += 4; };
    const u64 = (v: number) => { view.setBigUint64(o, BigInt(v), true); o += 8; };

    u32(GGSQ_MAGIC);
    u32(GGSQ_VERSION);
    u32(nCells);
    for (const part of parts)
        for (let i = 0; i < part.cells.nCells; i++)
            u32(part.tokens[i]!);
    u32(nStream);
    for (let s = 0; s < nStream; s++) {
        if (s !== streamIndex) {
            u32(0);
            continue;
        }
        u32(nCells);
        for (let pos = 0; pos < nCells; pos++) {
            i32(pos);
            u32(1);
            i32(seqId);
        }
        u32(first.vTrans ? 1 : 0);
        u32(nLayer);
        for (let l = 0; l < nLayer; l++) {
            const layout = first.layers[l]!;
            i32(layout.kType);
            u64(layout.kRowSize);
            for (const part of parts) {
                const src = part.cells.layers[l]!.k;
                const dst = out.subarray(o, o + src.byteLength);
                if (part.copyK != null)
                    part.copyK(l, src, dst);
                else
                    dst.set(src);
                o += src.byteLength;
            }
        }
        for (let l = 0; l < nLayer; l++) {
            const layout = first.layers[l]!;
            i32(layout.vType);
            if (first.vTrans) {
                u32(layout.vElSize);
                u32(layout.nEmbdV);
                for (let j = 0; j < layout.nEmbdV; j++)
                    for (const part of parts) {
                        const run = part.cells.nCells * layout.vElSize;
                        out.set(part.cells.layers[l]!.v.subarray(j * run, (j + 1) * run), o);
                        o += run;
                    }
            } else {
                u64(layout.vRowSize);
                for (const part of parts) {
                    out.set(part.cells.layers[l]!.v, o);
                    o += part.cells.layers[l]!.v.byteLength;
                }
            }
        }
    }
    if (o !== total)
        throw new Error(`Internal error: stacked state size ${o} != ${total}`);
    return out;
}

/** Cells [from, to) of `cells`, copied. */
export function sliceCells(cells: KvCells, from: number, to: number): KvCells {
    const n = to - from;
    return {
        nCells: n,
        vTrans: cells.vTrans,
        layers: cells.layers.map((layer) => {
            let v: Uint8Array;
            if (cells.vTrans) {
                v = new Uint8Array(n * layer.vRowSize);
                const run = n * layer.vElSize;
                for (let j = 0; j < layer.nEmbdV; j++) {
                    const srcStart = (j * cells.nCells + from) * layer.vElSize;
                    v.set(layer.v.subarray(srcStart, srcStart + run), j * run);
                }
            } else
                v = layer.v.slice(from * layer.vRowSize, to * layer.vRowSize);
            return {...layer, k: layer.k.slice(from * layer.kRowSize, to * layer.kRowSize), v};
        })
    };
}

function assertSameLayout(a: KvCells, b: KvCells): void {
    if (a.vTrans !== b.vTrans || a.layers.length !== b.layers.length)
        throw new KvLogError("KV_FINGERPRINT_MISMATCH", "KV logs with different layouts cannot be stacked.");
    for (let l = 0; l < a.layers.length; l++) {
        const x = a.layers[l]!, y = b.layers[l]!;
        if (x.kType !== y.kType || x.kRowSize !== y.kRowSize || x.vType !== y.vType || x.vRowSize !== y.vRowSize ||
            x.vElSize !== y.vElSize || x.nEmbdV !== y.nEmbdV)
            throw new KvLogError("KV_FINGERPRINT_MISMATCH", `KV logs differ in layer ${l} and cannot be stacked.`);
    }
}
