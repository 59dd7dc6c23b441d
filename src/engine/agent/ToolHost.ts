import fs from "node:fs/promises";
import path from "node:path";
import {DEFAULT_EXCLUDE_GLOBS, isExcludedPath} from "../redact.js";

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
const maxSearchHits = 20;

/** A ToolHost over a folder: never leaves it, never reads excluded (secret) files. */
export class DirectoryToolHost implements ToolHost {
    private readonly root: string;

    public constructor(root: string, private readonly excludeGlobs: readonly string[] = DEFAULT_EXCLUDE_GLOBS) {
        this.root = path.resolve(root);
    }

    private resolve(rel: string): {abs: string, rel: string} | string {
        const cleaned = rel.trim().replace(/^["'`]|["'`]$/g, "") || ".";
        const abs = path.resolve(this.root, cleaned);
        const relative = path.relative(this.root, abs);
        if (relative.startsWith("..") || path.isAbsolute(relative))
            return `Error: ${cleaned} is outside the workspace.`;
        if (relative !== "" && isExcludedPath(relative.split(path.sep).join("/"), [...this.excludeGlobs]))
            return `Error: ${cleaned} is excluded (it may hold secrets).`;
        return {abs, rel: relative || "."};
    }

    public async listFiles(dir: string): Promise<string> {
        const target = this.resolve(dir);
        if (typeof target === "string")
            return target;
        const out: string[] = [];
        const walk = async (abs: string, depth: number): Promise<void> => {
            let entries;
            try {
                entries = await fs.readdir(abs, {withFileTypes: true});
            } catch {
                return;
            }
            entries.sort((a, b) => a.name.localeCompare(b.name));
            for (const entry of entries) {
                if (out.length >= 200)
                    return;
                const rel = path.relative(this.root, path.join(abs, entry.name)).split(path.sep).join("/");
                if (isExcludedPath(rel, [...this.excludeGlobs]))
                    continue;
                if (entry.isDirectory()) {
                    if (skipDirs.has(entry.name))
                        continue;
                    out.push(rel + "/");
                    if (depth < 3)
                        await walk(path.join(abs, entry.name), depth + 1);
                } else if (entry.isFile())
                    out.push(rel);
            }
        };
        await walk(target.abs, 0);
        return out.length === 0 ? `No files under ${target.rel}.` : out.join("\n");
    }

    public async readFile(file: string): Promise<string> {
        const target = this.resolve(file);
        if (typeof target === "string")
            return target;
        try {
            const text = await fs.readFile(target.abs, "utf8");
            return text.length > maxFileChars
                ? `${text.slice(0, maxFileChars)}\n[... truncated: ${text.length - maxFileChars} more characters]`
                : text;
        } catch {
            return `Error: cannot read ${target.rel}.`;
        }
    }

    public async search(query: string): Promise<string> {
        const needle = query.trim().toLowerCase();
        if (needle === "")
            return "Error: empty search.";
        const hits: string[] = [];
        const walk = async (abs: string): Promise<void> => {
            let entries;
            try {
                entries = await fs.readdir(abs, {withFileTypes: true});
            } catch {
                return;
            }
            for (const entry of entries) {
                if (hits.length >= maxSearchHits)
                    return;
                const full = path.join(abs, entry.name);
                const rel = path.relative(this.root, full).split(path.sep).join("/");
                if (isExcludedPath(rel, [...this.excludeGlobs]))
                    continue;
                if (entry.isDirectory()) {
                    if (!skipDirs.has(entry.name))
                        await walk(full);
                    continue;
                }
                if (!entry.isFile())
                    continue;
                let text: string;
                try {
                    const stat = await fs.stat(full);
                    if (stat.size > 512 * 1024)
                        continue;
                    text = await fs.readFile(full, "utf8");
                } catch {
                    continue;
                }
                const lines = text.split("\n");
                for (let i = 0; i < lines.length && hits.length < maxSearchHits; i++)
                    if (lines[i]!.toLowerCase().includes(needle))
                        hits.push(`${rel}:${i + 1}: ${lines[i]!.trim().slice(0, 200)}`);
            }
        };
        await walk(this.root);
        return hits.length === 0 ? `No matches for "${query.trim()}".` : hits.join("\n");
    }
}
