import fs from "node:fs/promises";
import path from "node:path";
import {DEFAULT_EXCLUDE_GLOBS, isExcludedPath} from "../redact.js";

/** A path inside the workspace: `abs` is its real path (links resolved), `rel` its path under the workspace. */
export interface WorkspaceTarget {
    abs: string;
    rel: string;
}

/**
 * The rules for reaching a file of the workspace, shared by the tools (`DirectoryToolHost`) and the stale-log file
 * checks (`WorkspaceFileChecker`): a path must stay inside the folder and not be excluded (secret), and both hold
 * for its real path too, after every link is resolved (a link out of the workspace, or `innocent.txt` -> `.env`, is
 * refused). Refusals are sentences for the model.
 */
export class WorkspacePaths {
    public readonly root: string;
    private realRoot: Promise<string> | undefined;

    public constructor(root: string, private readonly excludeGlobs: readonly string[] = DEFAULT_EXCLUDE_GLOBS) {
        this.root = path.resolve(root);
    }

    /** The workspace-relative form of `abs` under `base`, `/`-separated; null when `abs` is outside `base`. */
    public static inside(base: string, abs: string): string | null {
        const relative = path.relative(base, abs);
        if (relative === ".." || relative.startsWith(`..${path.sep}`) || path.isAbsolute(relative))
            return null;
        return relative.split(path.sep).join("/");
    }

    public excluded(rel: string): boolean {
        return rel !== "" && isExcludedPath(rel, this.excludeGlobs);
    }

    /**
     * Where `abs` really is, when that is inside the workspace and neither its path under the workspace
     * (`rel`) nor its real one is excluded; else why not, as a message for the model.
     */
    public async check(abs: string, rel: string, shown: string): Promise<string | {real: string}> {
        if (this.excluded(rel))
            return `Error: ${shown} is excluded (it may hold secrets).`;
        const realRoot = await this.realRootPath();
        if (realRoot == null)
            return "Error: the workspace folder cannot be read.";
        let real: string;
        try {
            real = await fs.realpath(abs);
        } catch {
            return `Error: cannot read ${shown} (it does not exist).`;
        }
        const realRel = WorkspacePaths.inside(realRoot, real);
        if (realRel == null)
            return `Error: ${shown} is outside the workspace (it is a link to a place outside).`;
        if (this.excluded(realRel))
            return `Error: ${shown} is excluded (it may hold secrets).`;
        return {real};
    }

    public async realRootPath(): Promise<string | null> {
        this.realRoot ??= fs.realpath(this.root);
        try {
            return await this.realRoot;
        } catch {
            this.realRoot = undefined;
            return null;
        }
    }

    /** The path the model (or a log) names, cleaned and made workspace-relative, or why it is refused; nothing is touched. */
    public locate(requested: string): {abs: string, rel: string} | string {
        const cleaned = requested.trim().replace(/^["'`]|["'`]$/g, "") || ".";
        const abs = path.resolve(this.root, cleaned);
        const rel = WorkspacePaths.inside(this.root, abs);
        if (rel == null)
            return `Error: ${cleaned} is outside the workspace.`;
        return {abs, rel};
    }

    /** `requested` resolved and checked (see `check`); `rel` is "." for the workspace itself. */
    public async resolve(requested: string): Promise<WorkspaceTarget | string> {
        const located = this.locate(requested);
        if (typeof located === "string")
            return located;
        const checked = await this.check(located.abs, located.rel, requested.trim().replace(/^["'`]|["'`]$/g, "") || ".");
        return typeof checked === "string" ? checked : {abs: checked.real, rel: located.rel || "."};
    }
}
