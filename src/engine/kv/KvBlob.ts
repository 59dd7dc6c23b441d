import crypto from "node:crypto";
import {KvLogError} from "../errors.js";
import {GgmlType, ggmlRowSize, ggmlTypeName, kvCacheTypeToGgml, type KvCacheType} from "./ggml.js";
import {kvDataSize, openReader, readKvData, type KvCells, type KvLayerLayout} from "./seqState.js";

/**
 * The stored form of one log's KV: the cells of its last response at positions 0..n-1 (keys rotated for those
 * positions), independent of any context's sequence layout.
 *
 *   "HSKV" | u32 version | u32 header length | header JSON | KV data section (as llama.cpp's state: v_trans,
 *   n_layer, K per layer, V per layer)
 *
 * The header holds the fingerprint of the model/settings that made it, the cell count and the SHA-256 of the data
 * section. `decodeKvBlob` checks all of it, and the layout against the loaded model, before any byte reaches
 * llama.cpp: a corrupt or mismatched log is refused with a KvLogError, never loaded.
 */
const MAGIC = "HSKV";
const VERSION = 1;

interface BlobHeader {
    fingerprint: string;
    nCells: number;
    dataBytes: number;
    sha256: string;
}

export interface ExpectedKvLayout {
    fingerprint: string;
    vTrans: boolean;
    layers: KvLayerLayout[];
}

/** The layout llama.cpp uses for a model shape and KV settings (what a blob must match). */
export function expectedLayout(fingerprint: string, shape: {nLayer: number, nHeadKv: number, headDimK: number, headDimV: number},
    kvType: KvCacheType, flashAttention: boolean): ExpectedKvLayout {
    const type = kvCacheTypeToGgml[kvType];
    const nEmbdK = shape.nHeadKv * shape.headDimK;
    const nEmbdV = shape.nHeadKv * shape.headDimV;
    const vTrans = !flashAttention;
    const vElSize = type === GgmlType.F32 ? 4 : 2;
    const layer: KvLayerLayout = {
        kType: type,
        kRowSize: ggmlRowSize(type, nEmbdK),
        vType: type,
        vRowSize: vTrans ? vElSize * nEmbdV : ggmlRowSize(type, nEmbdV),
        vElSize: vTrans ? vElSize : 0,
        nEmbdV: vTrans ? nEmbdV : 0
    };
    return {fingerprint, vTrans, layers: Array.from({length: shape.nLayer}, () => ({...layer}))};
}

export function encodeKvBlob(fingerprint: string, cells: KvCells): Uint8Array {
    const dataBytes = kvDataSize(cells.layers, cells.vTrans, cells.nCells);
    const data = new Uint8Array(dataBytes);
    const view = new DataView(data.buffer);
    let o = 0;
    view.setUint32(o, cells.vTrans ? 1 : 0, true); o += 4;
    view.setUint32(o, cells.layers.length, true); o += 4;
    for (const layer of cells.layers) {
        view.setInt32(o, layer.kType, true); o += 4;
        view.setBigUint64(o, BigInt(layer.kRowSize), true); o += 8;
        data.set(layer.k, o); o += layer.k.byteLength;
    }
    for (const layer of cells.layers) {
        view.setInt32(o, layer.vType, true); o += 4;
        if (cells.vTrans) {
            view.setUint32(o, layer.vElSize, true); o += 4;
            view.setUint32(o, layer.nEmbdV, true); o += 4;
        } else {
            view.setBigUint64(o, BigInt(layer.vRowSize), true); o += 8;
        }
        data.set(layer.v, o); o += layer.v.byteLength;
    }
    const header: BlobHeader = {
        fingerprint,
        nCells: cells.nCells,
        dataBytes,
        sha256: crypto.createHash("sha256").update(data).digest("hex")
    };
    const headerBytes = Buffer.from(JSON.stringify(header), "utf8");
    const out = new Uint8Array(12 + headerBytes.length + dataBytes);
    out.set(Buffer.from(MAGIC, "latin1"), 0);
    const outView = new DataView(out.buffer);
    outView.setUint32(4, VERSION, true);
    outView.setUint32(8, headerBytes.length, true);
    out.set(headerBytes, 12);
    out.set(data, 12 + headerBytes.length);
    return out;
}

/** Reads only the header (cheap): fingerprint and cell count. */
export function peekKvBlob(blob: Uint8Array): BlobHeader {
    if (blob.byteLength < 12 || Buffer.from(blob.subarray(0, 4)).toString("latin1") !== MAGIC)
        throw new KvLogError("KV_CORRUPT", "The stored KV log is not a Hindsight KV blob (bad magic).");
    const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
    const version = view.getUint32(4, true);
    if (version !== VERSION)
        throw new KvLogError("KV_CORRUPT", `The stored KV log has an unknown format version ${version}.`);
    const headerLength = view.getUint32(8, true);
    if (12 + headerLength > blob.byteLength)
        throw new KvLogError("KV_CORRUPT", "The stored KV log is truncated (header).");
    let header: BlobHeader;
    try {
        header = JSON.parse(Buffer.from(blob.subarray(12, 12 + headerLength)).toString("utf8")) as BlobHeader;
    } catch (err) {
        throw new KvLogError("KV_CORRUPT", "The stored KV log has an unreadable header.", {cause: err});
    }
    if (typeof header.fingerprint !== "string" || !Number.isInteger(header.nCells) || header.nCells <= 0 ||
        !Number.isInteger(header.dataBytes) || typeof header.sha256 !== "string")
        throw new KvLogError("KV_CORRUPT", "The stored KV log has an invalid header.");
    return header;
}

/**
 * Validates a blob against the loaded model and returns its cells (views into `blob`, no copy).
 * Refuses: another fingerprint, a bad checksum, a truncated or padded blob, or a layout other than `expected`.
 */
export function decodeKvBlob(blob: Uint8Array, expected: ExpectedKvLayout): KvCells {
    const header = peekKvBlob(blob);
    if (header.fingerprint !== expected.fingerprint)
        throw new KvLogError("KV_FINGERPRINT_MISMATCH",
            `This KV log was made by another model or with other KV settings (fingerprint ${header.fingerprint}, loaded ${expected.fingerprint}). Re-encode the logs for the current model with \`hindsight logs reencode\`.`);
    const headerLength = new DataView(blob.buffer, blob.byteOffset, blob.byteLength).getUint32(8, true);
    const data = blob.subarray(12 + headerLength);
    if (data.byteLength !== header.dataBytes)
        throw new KvLogError("KV_CORRUPT", `The stored KV log is ${data.byteLength < header.dataBytes ? "truncated" : "padded"} (${data.byteLength} of ${header.dataBytes} bytes).`);
    const digest = crypto.createHash("sha256").update(data).digest("hex");
    if (digest !== header.sha256)
        throw new KvLogError("KV_CORRUPT", "The stored KV log is corrupted (checksum mismatch); it was not loaded.");

    const r = openReader(data, "stored KV log");
    const cells = readKvData(r, header.nCells);
    if (r.remaining !== 0)
        throw new KvLogError("KV_CORRUPT", "The stored KV log has trailing bytes.");
    if (cells.vTrans !== expected.vTrans || cells.layers.length !== expected.layers.length)
        throw new KvLogError("KV_FINGERPRINT_MISMATCH", "The stored KV log's layout does not match the loaded model.");
    cells.layers.forEach((layer, l) => {
        const want = expected.layers[l]!;
        if (layer.kType !== want.kType || layer.kRowSize !== want.kRowSize || layer.vType !== want.vType ||
            layer.vRowSize !== want.vRowSize || layer.vElSize !== want.vElSize || layer.nEmbdV !== want.nEmbdV)
            throw new KvLogError("KV_FINGERPRINT_MISMATCH",
                `The stored KV log's layer ${l} (${ggmlTypeName(layer.kType)}, ${layer.kRowSize} B/row) does not match the loaded model (${ggmlTypeName(want.kType)}, ${want.kRowSize} B/row).`);
    });
    return cells;
}
