import fs from "node:fs/promises";
import path from "node:path";
import {DEFAULT_EXCLUDE_GLOBS} from "../redact.js";
import {readRegularFile} from "./readRegularFile.js";
import {WorkspaceFileChecker, type FileChecker} from "./WorkspaceFiles.js";
import {WorkspacePaths, type WorkspaceTarget} from "./WorkspacePaths.js";

/**
 * What the agent may do in the user's workspace. The CLI gives a folder; the VS Code host gives the workspace
 * through the editor's APIs. Every method answers with text the model reads (errors included): a tool never throws
 * for a user-level problem like a missing file.
 */
export interface ToolHost {
    /** The tools the model is offered. Defaults to the workspace tools (list_files, read_file, search). */
    readonly tools?: readonly ToolName[];
    listFiles(dir: string): Promise<string>;
    readFile(file: string): Promise<string>;
    search(query: string): Promise<string>;
    /**
     * `run_tests`: runs the code the model wrote against the task's checks and says what failed. It gets the
     * model's responses so far (latest last), so the host can take the code from the one that has it.
     */
    runTests?(responses: readonly string[]): Promise<string>;
    /**
     * Checks an answer before it is given (`ask`'s `verify`): the host runs what it can (the task's examples)
     * against the code of the latest response and returns what failed, as an observation for another round, or
     * null when nothing failed (or there is nothing to check).
     */
    verify?(responses: readonly string[]): Promise<string | null>;
    /**
     * Checks the workspace files a log names (stale-log awareness): a request records the files its `read_file`
     * calls and attached files had, and a retrieved log whose files changed is marked stale. A host without it
     * records no files and treats every log as unchanged.
     */
    readonly files?: FileChecker;
}

export const toolNames = ["list_files", "read_file", "search", "run_tests"] as const;
export type ToolName = typeof toolNames[number];
const workspaceTools: readonly ToolName[] = ["list_files", "read_file", "search"];

/** The tools a host offers (run_tests only where the host can run tests). */
export function offeredTools(host: ToolHost): readonly ToolName[] {
    return (host.tools ?? workspaceTools).filter((t) => t !== "run_tests" || host.runTests != null);
}

const skipDirs = new Set([".git", "node_modules", "dist", "out", "build", ".venv", "__pycache__", ".hg", ".svn"]);
const maxFileChars = 6000;
/** Enough bytes for `maxFileChars` characters of UTF-8 (at most 4 bytes each), and no more is read. */
const maxReadBytes = 64 * 1024;
const maxSearchBytes = 512 * 1024;
const maxSearchHits = 20;
const maxListed = 200;

/**
 * A ToolHost over a folder: never leaves it, never reads excluded (secret) files. Both rules hold for the
 * real path, after every link is resolved, as well as for the path the model asked for: a link that points
 * out of the workspace, or to an excluded file (`innocent.txt` -> `.env`), is refused, and a walk does not
 * go through such a link. Only regular files are read, and only their first bytes. `files` checks the files a
 * log names under the same rules (stale-log awareness).
 */
export class DirectoryToolHost implements ToolHost {
    private readonly paths: WorkspacePaths;
    public readonly files: WorkspaceFileChecker;

    public constructor(root: string, excludeGlobs: readonly string[] = DEFAULT_EXCLUDE_GLOBS) {
        this.paths = new WorkspacePaths(root, excludeGlobs);
        this.files = new WorkspaceFileChecker(this.paths);
    }

    private resolve(requested: string): Promise<WorkspaceTarget | string> {
        return this.paths.resolve(requested);
    }

    /**
     * The entries of a folder as the walks see them: each with its path under the workspace and its real
     * path, links resolved and kept only when they stay inside and are not excluded; a link to a folder is
     * `followed: false` so a walk lists it but does not go through it (no cycles, nothing counted twice).
     */
    private async entries(dirAbs: string, dirRel: string): Promise<{name: string, rel: string, abs: string, dir: boolean, followed: boolean}[]> {
        let entries;
        try {
            entries = await fs.readdir(dirAbs, {withFileTypes: true});
        } catch {
            return [];
        }
        entries.sort((a, b) => a.name.localeCompare(b.name));
        const realRoot = await this.paths.realRootPath();
        const out = [];
        for (const entry of entries) {
            const rel = dirRel === "" || dirRel === "." ? entry.name : `${dirRel}/${entry.name}`;
            const abs = path.join(dirAbs, entry.name);
            if (entry.isSymbolicLink()) {
                const checked = await this.paths.check(abs, rel, rel);
                if (typeof checked === "string")
                    continue;
                const stat = await fs.stat(checked.real).catch(() => undefined);
                if (stat?.isDirectory() === true || stat?.isFile() === true)
                    out.push({name: entry.name, rel, abs: checked.real, dir: stat.isDirectory(), followed: false});
            } else if (entry.isDirectory() || entry.isFile()) {
                // `dirAbs` is a real path, so this entry's real path is `abs`: under a linked folder it differs from `rel`.
                const realRel = realRoot == null ? null : WorkspacePaths.inside(realRoot, abs);
                if (realRel != null && !this.paths.excluded(rel) && !this.paths.excluded(realRel))
                    out.push({name: entry.name, rel, abs, dir: entry.isDirectory(), followed: true});
            }
        }
        return out;
    }

    public async listFiles(dir: string): Promise<string> {
        const target = await this.resolve(dir);
        if (typeof target === "string")
            return target;
        const out: string[] = [];
        const walk = async (abs: string, rel: string, depth: number): Promise<void> => {
            for (const entry of await this.entries(abs, rel)) {
                if (out.length >= maxListed)
                    return;
                if (!entry.dir) {
                    out.push(entry.rel);
                    continue;
                }
                if (skipDirs.has(entry.name))
                    continue;
                out.push(entry.rel + "/");
                if (entry.followed && depth < 3)
                    await walk(entry.abs, entry.rel, depth + 1);
            }
        };
        await walk(target.abs, target.rel, 0);
        return out.length === 0 ? `No files under ${target.rel}.` : out.join("\n");
    }

    public async readFile(file: string): Promise<string> {
        const target = await this.resolve(file);
        if (typeof target === "string")
            return target;
        const read = await readRegularFile(target.abs, maxReadBytes);
        switch (read.kind) {
            case "not-regular":
                return `Error: ${target.rel} is not a regular file (a folder, device, FIFO or socket); only files are read.`;
            case "binary":
                return `Error: ${target.rel} is a binary file; only text files are read.`;
            case "unreadable":
                return `Error: cannot read ${target.rel}.`;
            case "text":
                return read.text.length > maxFileChars || read.truncated
                    ? `${read.text.slice(0, maxFileChars)}\n[... truncated: showed the first ${maxFileChars} characters of ${read.size} bytes]`
                    : read.text;
        }
    }

    public async search(query: string): Promise<string> {
        const needle = query.trim().toLowerCase();
        if (needle === "")
            return "Error: empty search.";
        const root = await this.resolve(".");
        if (typeof root === "string")
            return root;
        const hits: string[] = [];
        const walk = async (abs: string, rel: string): Promise<void> => {
            for (const entry of await this.entries(abs, rel)) {
                if (hits.length >= maxSearchHits)
                    return;
                if (entry.dir) {
                    if (entry.followed && !skipDirs.has(entry.name))
                        await walk(entry.abs, entry.rel);
                    continue;
                }
                const read = await readRegularFile(entry.abs, maxSearchBytes);
                // Files larger than the cap are left out rather than searched in part.
                if (read.kind !== "text" || read.truncated)
                    continue;
                const lines = read.text.split("\n");
                for (let i = 0; i < lines.length && hits.length < maxSearchHits; i++)
                    if (lines[i]!.toLowerCase().includes(needle))
                        hits.push(`${entry.rel}:${i + 1}: ${lines[i]!.trim().slice(0, 200)}`);
            }
        };
        await walk(root.abs, "");
        return hits.length === 0 ? `No matches for "${query.trim()}".` : hits.join("\n");
    }
}
