import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import {Readable} from "node:stream";
import {pipeline} from "node:stream/promises";
import type {GpuBackend, GpuChoice} from "../engine/index.js";

/**
 * One prebuilt GPU package of node-llama-cpp as the build pinned it (dist/gpu-packages.json, from package-lock.json):
 * the npm registry's tarball and its `integrity` (SRI sha512), for the node-llama-cpp version the VSIX carries.
 */
export interface GpuPackage {
    backend: GpuBackend;
    /** `@node-llama-cpp/linux-x64-vulkan` */
    name: string;
    version: string;
    integrity: string;
    tarball: string;
}

export interface GpuPackageTable {
    /** The node-llama-cpp version the packages belong to (node-llama-cpp refuses a package of another version). */
    nodeLlamaCpp: string;
    /** `${process.platform}-${process.arch}` -> its packages, best first. */
    targets: Record<string, GpuPackage[]>;
}

export interface GpuProgress {
    /** Wraps one download of `pkg`: `report` gets the bytes so far and the total when the registry sent it; `signal` cancels. */
    run<T>(pkg: GpuPackage, task: (report: (bytes: number, total: number | null) => void, signal: AbortSignal) => Promise<T>): Promise<T>;
}

export interface GpuBinariesOptions {
    /** The extension's folder: node-llama-cpp resolves `@node-llama-cpp/*` from its node_modules. */
    extensionPath: string;
    /** Where downloaded packages are kept (the extension's globalStorage), one folder per package and version. */
    storageDir: string;
    /** The pinned table; null when the build wrote none (then nothing is ever downloaded). */
    table: GpuPackageTable | null;
    /** `${platform}-${arch}`. Defaults to this process's. */
    target?: string;
    /** Defaults to the global `fetch`. Tests pass one that fails when called. */
    fetch?: typeof fetch;
    log: (line: string) => void;
}

/** What `prepare` did: the backend node-llama-cpp can now load (null = the CPU), and whether it downloaded it. */
export interface GpuPreparation {
    backend: GpuBackend | null;
    downloaded: boolean;
    /** With "auto": why a supported GPU's binaries could not be installed (the CPU is used). */
    problem?: string;
}

/** A GPU package could not be fetched, verified or installed; `code` as the engine's errors. */
export class GpuPackageError extends Error {
    public readonly code = "GPU_UNAVAILABLE";

    public constructor(message: string, options?: {cause?: unknown}) {
        super(message, options);
        this.name = "GpuPackageError";
    }
}

/**
 * Makes node-llama-cpp's prebuilt GPU binaries available to a VSIX that ships only the CPU one. node-llama-cpp
 * finds a prebuilt with a bare `import("@node-llama-cpp/linux-x64-vulkan")` from its own files
 * (dist/bindings/utils/compileLLamaCpp.js), so only a package under the extension's node_modules counts (ESM
 * ignores NODE_PATH). The package is downloaded once from the npm registry into globalStorage, checked against
 * the sha512 pinned at build time, unpacked, and linked into `node_modules/@node-llama-cpp/` (a symlink, which
 * Node resolves to its real path, so the package finds its own bins/ there). Nothing is downloaded on a machine
 * without a GPU, for `gpu: "cpu"`, or when the package is already installed (a development checkout has them all).
 */
export class GpuBinaries {
    private readonly target: string;
    private readonly fetchImpl: typeof fetch;

    public constructor(private readonly options: GpuBinariesOptions) {
        this.target = options.target ?? `${process.platform}-${process.arch}`;
        this.fetchImpl = options.fetch ?? fetch;
    }

    /** The packages this target can download, best first. */
    public get packages(): readonly GpuPackage[] {
        return this.options.table?.targets[this.target] ?? [];
    }

    /**
     * Before node-llama-cpp loads: for `setting` and the backends this machine supports (`supportedGpuBackends()`),
     * makes the best usable backend's package present, downloading it when needed. With "auto" a failed download is
     * reported in `problem` and the CPU is used; a backend named in the setting that cannot be fetched is a
     * `GPU_UNAVAILABLE` error saying what to do. Without a supported GPU, or with "cpu", nothing happens.
     */
    public async prepare(setting: GpuChoice, supported: readonly GpuBackend[], progress: GpuProgress): Promise<GpuPreparation> {
        // a backend asked for by name that the machine lacks is the engine's GPU_UNAVAILABLE (EngineHost checks it first)
        const wanted = setting === "cpu" ? [] : setting === "auto" ? supported : supported.filter((b) => b === setting);
        let problem: string | undefined;
        for (const backend of wanted) {
            if (this.isInstalled(backend))
                return {backend, downloaded: false};
            const pkg = this.packages.find((p) => p.backend === backend);
            if (pkg == null) {
                if (setting !== "auto")
                    throw new GpuPackageError(`hindsight.gpu is "${backend}", but this build of Hindsight has no ${backend} binaries for ${this.target}. ` +
                        `Set hindsight.gpu to "auto" or "cpu".`);
                continue;
            }
            try {
                await this.install(pkg, progress);
                return {backend, downloaded: true};
            } catch (err) {
                const detail = err instanceof Error ? err.message : String(err);
                this.options.log(`The ${backend} binaries could not be installed: ${detail}`);
                problem ??= `the ${backend} build of llama.cpp could not be installed (${detail})`;
                if (setting !== "auto")
                    throw err instanceof GpuPackageError ? err : new GpuPackageError(`The ${backend} binaries of llama.cpp could not be downloaded ` +
                        `(${detail}). Check the connection to the npm registry and try again, or set hindsight.gpu to "auto" or "cpu".`, {cause: err});
            }
        }
        return {backend: null, downloaded: false, problem};
    }

    /** The package node-llama-cpp imports for `backend` here: the table's, else its own naming (`@node-llama-cpp/linux-x64-cuda`). */
    private packageName(backend: GpuBackend): string {
        return this.packages.find((p) => p.backend === backend)?.name ?? `@node-llama-cpp/${this.target.replace(/^win32-/, "win-")}-${backend}`;
    }

    /** The package's folder under the extension's node_modules, where node-llama-cpp looks. */
    private linkPath(backend: GpuBackend): string {
        return path.join(this.options.extensionPath, "node_modules", ...this.packageName(backend).split("/"));
    }

    /** Installed = node-llama-cpp would find it: a package of the pinned node-llama-cpp version (of any, without a table). */
    public isInstalled(backend: GpuBackend): boolean {
        try {
            const pkg = JSON.parse(fs.readFileSync(path.join(this.linkPath(backend), "package.json"), "utf8")) as {version?: string};
            return this.options.table == null || pkg.version === this.options.table.nodeLlamaCpp;
        } catch {
            return false;
        }
    }

    /** Downloads (unless kept from an earlier run), verifies, unpacks and links one package. */
    public async install(pkg: GpuPackage, progress: GpuProgress): Promise<void> {
        const dir = path.join(this.options.storageDir, `${pkg.name.replace("/", "+")}@${pkg.version}`);
        if (!fs.existsSync(path.join(dir, "package.json"))) {
            fs.mkdirSync(this.options.storageDir, {recursive: true});
            const tmp = fs.mkdtempSync(path.join(this.options.storageDir, ".download-"));
            try {
                const file = path.join(tmp, "package.tgz");
                await progress.run(pkg, (report, signal) => this.download(pkg, file, report, signal));
                const unpacked = path.join(tmp, "package");
                fs.mkdirSync(unpacked);
                const tar = await import("tar"); // bundled; evaluated only when a download happens
                // npm tarballs hold package/...; only plain files and folders are taken (tar refuses absolute and ../ paths)
                await tar.x({file, cwd: unpacked, strip: 1, filter: (_p, entry) => "type" in entry && (entry.type === "File" || entry.type === "Directory")});
                if (!fs.existsSync(path.join(unpacked, "package.json")))
                    throw new GpuPackageError(`${pkg.name}@${pkg.version}: the tarball has no package.json.`);
                fs.rmSync(dir, {recursive: true, force: true});
                fs.renameSync(unpacked, dir);
            } finally {
                fs.rmSync(tmp, {recursive: true, force: true});
            }
        }
        this.link(pkg.backend, dir);
        this.options.log(`${pkg.name}@${pkg.version} is in ${dir}, linked from ${this.linkPath(pkg.backend)}`);
    }

    /** Streams the tarball to `file`, hashing as it goes; a sha512 other than the pinned one leaves nothing behind. */
    private async download(pkg: GpuPackage, file: string, report: (bytes: number, total: number | null) => void, signal: AbortSignal): Promise<void> {
        const [algorithm, expected] = splitIntegrity(pkg.integrity);
        this.options.log(`Downloading ${pkg.tarball}`);
        const response = await this.fetchImpl(pkg.tarball, {signal});
        if (!response.ok || response.body == null)
            throw new GpuPackageError(`${pkg.tarball} answered ${response.status} ${response.statusText}.`);
        const length = Number(response.headers.get("content-length"));
        const total = Number.isFinite(length) && length > 0 ? length : null;
        const hash = crypto.createHash(algorithm);
        let bytes = 0;
        await pipeline(Readable.fromWeb(response.body as import("node:stream/web").ReadableStream<Uint8Array>), async function* (source: AsyncIterable<Buffer>) {
            for await (const chunk of source) {
                hash.update(chunk);
                bytes += chunk.length;
                report(bytes, total);
                yield chunk;
            }
        }, fs.createWriteStream(file), {signal});
        const actual = hash.digest("base64");
        if (actual !== expected) {
            fs.rmSync(file, {force: true});
            throw new GpuPackageError(`${pkg.name}@${pkg.version} from ${pkg.tarball} does not match its pinned ${algorithm} (got ${algorithm}-${actual}); it was not installed.`);
        }
    }

    /** Points node_modules/@node-llama-cpp/<target>-<backend> at `dir`, replacing an older link atomically. */
    private link(backend: GpuBackend, dir: string): void {
        const at = this.linkPath(backend);
        fs.mkdirSync(path.dirname(at), {recursive: true});
        const tmp = `${at}.link-${process.pid}-${Date.now()}`;
        try {
            fs.symlinkSync(dir, tmp, "dir");
            fs.renameSync(tmp, at);
        } catch (err) {
            fs.rmSync(tmp, {force: true});
            throw new GpuPackageError(`The ${backend} binaries were downloaded to ${dir}, but ${path.dirname(at)} cannot be written ` +
                `(${err instanceof Error ? err.message : String(err)}). Install Hindsight where your user can write, or set hindsight.gpu to "cpu".`, {cause: err});
        }
    }
}

function splitIntegrity(integrity: string): ["sha512", string] {
    const match = /^sha512-([A-Za-z0-9+/=]+)$/.exec(integrity.trim());
    if (match == null)
        throw new GpuPackageError(`Unsupported integrity "${integrity}" (a sha512 is pinned for every package).`);
    return ["sha512", match[1]!];
}

/** Reads the table the build wrote next to the bundle; null when there is none. */
export function readGpuPackageTable(file: string): GpuPackageTable | null {
    try {
        return JSON.parse(fs.readFileSync(file, "utf8")) as GpuPackageTable;
    } catch {
        return null;
    }
}
