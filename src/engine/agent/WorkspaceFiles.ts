import {createHash} from "node:crypto";
import fs from "node:fs/promises";
import {readRegularFile} from "./readRegularFile.js";
import {WorkspacePaths} from "./WorkspacePaths.js";

/** A workspace file as it is now: its path under the workspace and the SHA-256 of its content (null: it is gone). */
export interface CheckedFile {
    /** `/`-separated, relative to the workspace, without `.` or `..` segments. */
    path: string;
    /** Lowercase hex; null when nothing is there now, or no longer a regular file. */
    sha256: string | null;
}

/**
 * What the engine needs from a host to record and check the files a log names (stale-log awareness). The engine
 * calls it with the path a `read_file` call or an attached file named (when the task runs) and with the paths a
 * retrieved log names (when it is reused); only the files of those logs are looked at.
 */
export interface FileChecker {
    /** The file at `path` now; null when it may not be looked at (outside the workspace, excluded, a link out). */
    check(path: string): Promise<CheckedFile | null>;
}

/** Reads a file for hashing; `readRegularFile` by default (a test counts calls through it). */
export type FileReader = typeof readRegularFile;

/** Files are hashed on their first this many bytes (and their size, when longer). */
export const MAX_HASH_BYTES = 4 * 1024 * 1024;
/**
 * A hash is cached only for a file whose mtime is at least this much older than the read: a file written within
 * the clock's granularity of being read could change again with the same mtime and size ("racy git").
 */
const RACY_MS = 2000;

interface CachedHash {
    mtimeMs: number;
    size: number;
    sha256: string;
}

/**
 * Hashes by (real path, mtime, size): a file whose mtime and size are as when it was hashed is not read again.
 * Bounded (least recently used entries go first). One cache is shared by the checkers of a process by default,
 * since a host makes a new checker per request.
 */
export class FileHashCache {
    public static readonly shared = new FileHashCache();
    readonly #entries = new Map<string, CachedHash>();

    public constructor(private readonly maxEntries = 4096) {}

    public get(real: string, mtimeMs: number, size: number): string | undefined {
        const hit = this.#entries.get(real);
        if (hit == null || hit.mtimeMs !== mtimeMs || hit.size !== size)
            return undefined;
        this.#entries.delete(real);
        this.#entries.set(real, hit);
        return hit.sha256;
    }

    public set(real: string, entry: CachedHash): void {
        this.#entries.delete(real);
        this.#entries.set(real, entry);
        while (this.#entries.size > this.maxEntries)
            this.#entries.delete(this.#entries.keys().next().value!);
    }

    public get size(): number {
        return this.#entries.size;
    }
}

export interface WorkspaceFileCheckerOptions {
    /** Defaults to `FileHashCache.shared`. */
    cache: FileHashCache;
    /** Defaults to `readRegularFile`. */
    read: FileReader;
}

/**
 * A `FileChecker` over a workspace folder, under the tools' rules (`WorkspacePaths`): nothing outside the folder or
 * excluded is looked at, by its path or its real path, and only regular files are read (opened without blocking,
 * checked with `fstat`, at most `MAX_HASH_BYTES`), through the same reader as the tools.
 */
export class WorkspaceFileChecker implements FileChecker {
    private readonly paths: WorkspacePaths;
    private readonly cache: FileHashCache;
    private readonly read: FileReader;

    public constructor(workspace: WorkspacePaths | string, options: Partial<WorkspaceFileCheckerOptions> & {excludeGlobs?: readonly string[]} = {}) {
        this.paths = typeof workspace === "string" ? new WorkspacePaths(workspace, options.excludeGlobs) : workspace;
        this.cache = options.cache ?? FileHashCache.shared;
        this.read = options.read ?? readRegularFile;
    }

    public async check(requested: string): Promise<CheckedFile | null> {
        const located = this.paths.locate(requested);
        if (typeof located === "string" || located.rel === "" || this.paths.excluded(located.rel))
            return null;
        const gone = {path: located.rel, sha256: null};
        const realRoot = await this.paths.realRootPath();
        if (realRoot == null)
            return null;
        let real: string;
        try {
            real = await fs.realpath(located.abs);
        } catch {
            return gone;
        }
        const realRel = WorkspacePaths.inside(realRoot, real);
        if (realRel == null || this.paths.excluded(realRel))
            return null;

        const stat = await fs.stat(real).catch(() => null);
        if (stat == null || !stat.isFile())
            return gone;
        const cached = this.cache.get(real, stat.mtimeMs, stat.size);
        if (cached != null)
            return {path: located.rel, sha256: cached};

        const startedAt = Date.now();
        const read = await this.read(real, MAX_HASH_BYTES);
        if (read.kind !== "text" && read.kind !== "binary")
            return gone;
        const hash = createHash("sha256").update(read.bytes);
        if (read.truncated)
            hash.update(`\0size=${read.size}`);
        const sha256 = hash.digest("hex");
        if (read.size === stat.size && startedAt - stat.mtimeMs >= RACY_MS)
            this.cache.set(real, {mtimeMs: stat.mtimeMs, size: stat.size, sha256});
        return {path: located.rel, sha256};
    }
}
