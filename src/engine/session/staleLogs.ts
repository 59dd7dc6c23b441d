import type {FileChecker} from "../agent/WorkspaceFiles.js";
import type {LogRecord} from "../store/index.js";

/** A file a log names, compared with the workspace now. */
export interface LogFileStatus {
    path: string;
    /** `deleted`: nothing is there now, or nothing Hindsight may read (no longer a regular file, excluded, a link out). */
    state: "unchanged" | "changed" | "deleted";
}

/** A reused log some of whose files changed or went since its session: it ranks after the unchanged logs. */
export interface StaleLog {
    logId: string;
    /** Workspace-relative paths whose content differs from what the session read. */
    changed: string[];
    /** Workspace-relative paths that are gone. */
    deleted: string[];
}

/** Each file `log` names, as it is now (none for a log without files, such as one from before store version 2). */
export async function checkLogFiles(log: Pick<LogRecord, "files">, checker: FileChecker): Promise<LogFileStatus[]> {
    const out: LogFileStatus[] = [];
    for (const file of log.files) {
        const now = await checker.check(file.path);
        out.push({path: file.path, state: now?.sha256 == null ? "deleted" : now.sha256 === file.sha256 ? "unchanged" : "changed"});
    }
    return out;
}

/** What a retrieved log's files say about reusing it. */
export type Freshness =
    | {kind: "fresh"}
    | {kind: "stale", stale: StaleLog}
    /** Every file the log names is gone: it is not reused at all. */
    | {kind: "gone"};

export function freshnessOf(logId: string, files: readonly LogFileStatus[]): Freshness {
    const changed = files.filter((f) => f.state === "changed").map((f) => f.path);
    const deleted = files.filter((f) => f.state === "deleted").map((f) => f.path);
    if (files.length > 0 && deleted.length === files.length)
        return {kind: "gone"};
    return changed.length + deleted.length === 0 ? {kind: "fresh"} : {kind: "stale", stale: {logId, changed, deleted}};
}

/** The files one request read or was given, each once with its hash when first seen, for its log. */
export class FileRecorder {
    readonly #files = new Map<string, string>();

    public constructor(private readonly checker: FileChecker | null, private readonly max: number) {}

    /** Records `path` as it is now, if the checker may look at it and it is there. */
    public async record(path: string): Promise<void> {
        if (this.checker == null || this.#files.size >= this.max)
            return;
        const now = await this.checker.check(path);
        if (now?.sha256 != null && !this.#files.has(now.path))
            this.#files.set(now.path, now.sha256);
    }

    public get files(): {path: string, sha256: string}[] {
        return [...this.#files].map(([path, sha256]) => ({path, sha256}));
    }
}
