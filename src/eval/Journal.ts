import fs from "node:fs";
import path from "node:path";
import type {LogOutcome} from "../engine/index.js";
import type {EvalMode} from "./evalMode.js";

/** One finished item: a phase 1 task (logged) or a phase 2 task in one mode. Appended once, never rewritten. */
export interface ItemRecord {
    key: string;
    /** `score`: the log-probability metric (no generation); `answer`, `correct` are then empty and false. */
    phase: "log" | "eval" | "score";
    mode: EvalMode;
    taskId: string;
    /** Phase 2: the data set of the task (`EvoEval_concise`); absent in journals written before sets were kept. */
    set?: string;
    answer: string;
    /** Phase 1 tasks this one was derived from (EvoEval parents); absent in journals written before it was kept. */
    parents?: string[];
    /**
     * Every response (tool calls included) of a phase 1 task, and of a phase 2 task when they hold more than the answer
     * (`journalsResponses`); absent otherwise, and in one-round phase 2 items journaled before it was kept (2 Dec 2026).
     */
    responses?: string[];
    correct: boolean;
    f1?: number;
    detail: string;
    rounds: number;
    tokensIn: number;
    tokensOut: number;
    /** The graded response stopped at the token cap (`hitTokenCap`); absent in journals written before it was counted. */
    truncated?: boolean;
    ttftMs: number | null;
    totalMs: number;
    /** Logs the answer reused (ids) and the tasks they came from, in retrieval order. */
    usedLogs: string[];
    usedTasks: string[];
    /** Whether a log of a task this one was derived from was among the reused ones; null when it has no parent. */
    parentRetrieved: boolean | null;
    /**
     * The round whose answer only repeated the request's code, so the model was told and answered again (the engine's
     * `incomplete` event; `responses` holds that answer); absent when it did not happen, and in items journaled before
     * 2 Dec 2026's sixth session, when the engine did not ask again.
     */
    askedAgain?: number;
    /** Phase 1: the log this task became (its id in the store that ran phase 1; a rebuilt store gives new ids). */
    logId?: string;
    /** Phase 1: what the log is made of, for `rebuildStore`: the task text, the workspace and the outcome it got. */
    request?: string;
    workspace?: string;
    outcome?: LogOutcome;
    /** Score items: mean log-probability per token of the task's reference answer, and its token count. */
    logprob?: number;
    /** Per used log (as `usedLogs`): share of the answer's substantive lines already in its last response (engine `reliance`). */
    reliance?: number[];
    scoredTokens?: number;
    finishedAt: string;
}

export function itemKey(phase: ItemRecord["phase"], mode: EvalMode, taskId: string): string {
    return `${phase}|${mode}|${taskId}`;
}

/**
 * The append-only JSONL of finished items that makes a run resumable: a run killed at any moment loses at most the
 * item it was working on. A line cut short by a kill is dropped on open (and the file truncated back to the last
 * whole line), so the next append starts on a fresh line.
 */
export class Journal {
    private readonly items = new Map<string, ItemRecord>();

    private constructor(public readonly file: string) {}

    public static open(file: string): Journal {
        const journal = new Journal(file);
        fs.mkdirSync(path.dirname(file), {recursive: true});
        if (!fs.existsSync(file))
            return journal;
        const text = fs.readFileSync(file, "utf8");
        const end = text.lastIndexOf("\n") + 1;
        if (end < text.length)
            fs.truncateSync(file, Buffer.byteLength(text.slice(0, end)));
        for (const line of text.slice(0, end).split("\n")) {
            if (line.trim() === "")
                continue;
            try {
                const record = JSON.parse(line) as ItemRecord;
                if (typeof record.key === "string" && !journal.items.has(record.key))
                    journal.items.set(record.key, record);
            } catch {
                // a damaged line is treated as not done
            }
        }
        return journal;
    }

    public has(key: string): boolean {
        return this.items.has(key);
    }

    public all(): ItemRecord[] {
        return [...this.items.values()];
    }

    public append(record: ItemRecord): void {
        if (this.items.has(record.key))
            return;
        fs.appendFileSync(this.file, JSON.stringify(record) + "\n");
        this.items.set(record.key, record);
    }
}

/** A one-line progress bar with ETA on stderr (redrawn on a terminal, one line per item otherwise). */
export class ProgressBar {
    private done = 0;
    private readonly started = performance.now();
    private lastLine = "";

    public constructor(private readonly total: number, private readonly alreadyDone: number, private readonly write: (text: string) => void = (t) => process.stderr.write(t)) {}

    public tick(label: string): void {
        this.done++;
        const finished = this.alreadyDone + this.done;
        const perItem = (performance.now() - this.started) / this.done;
        const eta = formatDuration(perItem * (this.total - finished));
        const width = 24;
        const filled = Math.round(width * finished / Math.max(1, this.total));
        const line = `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${finished}/${this.total} ${label} ETA ${eta}`;
        if (process.stderr.isTTY)
            this.write(`\r${line.padEnd(this.lastLine.length)}`);
        else
            this.write(line + "\n");
        this.lastLine = line;
    }

    public end(): void {
        if (process.stderr.isTTY && this.lastLine !== "")
            this.write("\n");
    }
}

export function formatDuration(ms: number): string {
    if (!Number.isFinite(ms))
        return "?";
    const s = Math.round(ms / 1000);
    return s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor(s % 3600 / 60)).padStart(2, "0")}m` : s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s` : `${s}s`;
}
