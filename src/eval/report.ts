import fs from "node:fs";
import path from "node:path";
import type {AskMode} from "../engine/index.js";
import type {ItemRecord} from "./Journal.js";
import {mcnemarExactP, meanInterval, pairedDifference, wilson, type Interval} from "./metrics.js";

export interface RunMeta {
    suite: string;
    /** The latest command, and every command that filled in this run, in order (absent in older runs). */
    command: string;
    commands?: string[];
    model: {path: string, name: string, sha256: string, kvType: string, threads: number, contextSize: number};
    /** The space of the retrieval embeddings (the embedding model's hash); absent in older runs. */
    embeddingSpace?: string;
    seed: number;
    logTasks: number;
    testTasks: number;
    modes: AskMode[];
    k: number;
    maxRounds: number;
    maxTokensPerRound: number;
    /** Code: how answers were asked for (`AnswerStyle`); absent in older runs (they asked for the whole function). */
    answerStyle?: string;
    data: string[];
    logData: string[];
    host: string;
    updatedAt: string;
}

export interface ModeSummary {
    mode: AskMode;
    n: number;
    accuracy: Interval;
    f1: Interval | null;
    rounds: Interval;
    tokensIn: Interval;
    tokensOut: Interval;
    ttftMs: Interval;
    totalMs: Interval;
    /** Share of tasks with a parent whose parent's log was reused (null: no task has a parent, or mode `none`). */
    recall: Interval | null;
    /** The same, over tasks whose parent's log can be retrieved at all (code: it passed its tests; failed logs are never reused). */
    recallRetrievable: Interval | null;
    /** Share of tasks that reused at least one log. */
    withLogs: Interval;
}

export interface StorageSummary {
    logs: number;
    /** Mean stored bytes per log: text, KV (LAG: last response with full context), KV encoded alone. */
    textBytesPerLog: number;
    kvBytesPerLog: number | null;
    kvAloneBytesPerLog: number | null;
    kvTokensPerLog: number | null;
    storeBytesOnDisk: number;
}

export interface RunReport {
    meta: RunMeta;
    /** `multiRound`: share of logs with several responses, the logs where `kv` and `kv-alone` store different KV. */
    phase1: {n: number, accuracy: Interval, rounds: Interval, multiRound: Interval};
    modes: ModeSummary[];
    /** Phase 2 tasks answered in every mode so far (the comparison is paired on these). */
    completeTasks: number;
    /**
     * Paired differences of `kv` against each other mode on the `n` tasks done in both: wins, losses, accuracy delta
     * with Newcombe's 95% interval for paired rates, and the exact McNemar p-value.
     */
    kvVersus: {mode: AskMode, n: number, wins: number, losses: number, delta: number, interval: Interval, p: number}[];
    storage: StorageSummary | null;
    items: ItemRecord[];
}

export function summarize(meta: RunMeta, items: readonly ItemRecord[], storage: StorageSummary | null): RunReport {
    const phase1 = items.filter((r) => r.phase === "log");
    const evals = items.filter((r) => r.phase === "eval" && meta.modes.includes(r.mode));
    const byTask = new Map<string, Map<AskMode, ItemRecord>>();
    for (const r of evals) {
        if (!byTask.has(r.taskId))
            byTask.set(r.taskId, new Map());
        byTask.get(r.taskId)!.set(r.mode, r);
    }
    // logs retrieval may return: code logs whose tests failed are excluded by the engine
    const retrievableLogs = new Set(phase1.filter((r) => meta.suite !== "code" || r.correct).map((r) => r.taskId));
    const complete = [...byTask.values()].filter((m) => meta.modes.every((mode) => m.has(mode)));
    const modes = meta.modes.map((mode): ModeSummary => {
        const rs = evals.filter((r) => r.mode === mode);
        const withParent = rs.filter((r) => r.parentRetrieved != null);
        const retrievable = withParent.filter((r) => r.parents?.some((p) => retrievableLogs.has(p)) === true);
        return {
            mode, n: rs.length,
            accuracy: wilson(rs.filter((r) => r.correct).length, rs.length),
            f1: rs.some((r) => r.f1 != null) ? meanInterval(rs.map((r) => r.f1 ?? 0)) : null,
            rounds: meanInterval(rs.map((r) => r.rounds)),
            tokensIn: meanInterval(rs.map((r) => r.tokensIn)),
            tokensOut: meanInterval(rs.map((r) => r.tokensOut)),
            ttftMs: meanInterval(rs.filter((r) => r.ttftMs != null).map((r) => r.ttftMs!)),
            totalMs: meanInterval(rs.map((r) => r.totalMs)),
            recall: mode === "none" || withParent.length === 0 ? null : wilson(withParent.filter((r) => r.parentRetrieved).length, withParent.length),
            recallRetrievable: mode === "none" || retrievable.length === 0 ? null : wilson(retrievable.filter((r) => r.parentRetrieved).length, retrievable.length),
            withLogs: wilson(rs.filter((r) => r.usedLogs.length > 0).length, rs.length)
        };
    });
    const kvVersus = meta.modes.includes("kv") ? meta.modes.filter((m) => m !== "kv").map((mode) => {
        // paired on every task done in both modes (a run may fill in its costlier modes on fewer tasks)
        const paired = [...byTask.values()].filter((m) => m.has("kv") && m.has(mode));
        let wins = 0, losses = 0, both = 0;
        for (const m of paired) {
            const a = m.get("kv")!.correct, b = m.get(mode)!.correct;
            if (a && !b) wins++;
            if (b && !a) losses++;
            if (a && b) both++;
        }
        return {mode, n: paired.length, wins, losses, delta: paired.length === 0 ? 0 : (wins - losses) / paired.length,
            interval: pairedDifference({both, wins, losses, neither: paired.length - both - wins - losses}), p: mcnemarExactP(wins, losses)};
    }) : [];
    return {
        meta,
        phase1: {
            n: phase1.length, accuracy: wilson(phase1.filter((r) => r.correct).length, phase1.length),
            rounds: meanInterval(phase1.map((r) => r.rounds)), multiRound: wilson(phase1.filter((r) => r.rounds > 1).length, phase1.length)
        },
        modes, completeTasks: complete.length, kvVersus, storage, items: [...items]
    };
}

const pct = (i: Interval) => Number.isNaN(i.value) ? "-" : `${(100 * i.value).toFixed(1)} [${(100 * i.low).toFixed(1)}, ${(100 * i.high).toFixed(1)}]`;
const num = (i: Interval, digits = 1) => Number.isNaN(i.value) ? "-" : `${i.value.toFixed(digits)} ± ${((i.high - i.low) / 2).toFixed(digits)}`;
const kib = (b: number | null) => b == null ? "-" : `${(b / 1024).toFixed(1)} KiB`;

export function toMarkdown(report: RunReport): string {
    const m = report.meta;
    const openBook = report.modes.some((s) => s.f1 != null);
    const lines = [
        `# ${m.suite}: ${m.model.name}`,
        "",
        `- Model: \`${path.basename(m.model.path)}\` (${m.model.name}, sha256 ${m.model.sha256.slice(0, 12)}), KV cache ${m.model.kvType}, ` +
            `${m.model.threads} thread(s), context ${m.model.contextSize}, greedy decoding.`,
        `- Command: \`${m.command}\``,
        `- Phase 1 (logged, mode none): ${report.phase1.n}/${m.logTasks} tasks, ${pct(report.phase1.accuracy)} % correct; ` +
            `${num(report.phase1.rounds, 2)} rounds per log, ${pct(report.phase1.multiRound)} % of logs with several rounds ` +
            "(only there do `kv` and `kv-alone` store different KV).",
        `- Phase 2: ${report.completeTasks}/${m.testTasks} tasks done in all ${m.modes.length} modes; top-${m.k} logs per query, ` +
            `at most ${m.maxRounds} round(s) of ${m.maxTokensPerRound} tokens.`,
        `- Updated ${m.updatedAt} on ${m.host}. Intervals are 95 %: Wilson for rates, normal for means (± half-width).`,
        "",
        `| mode | n | ${m.suite === "code" ? "pass@1 %" : "EM %"} |${openBook ? " F1 |" : ""} rounds | tokens in | tokens out | TTFT s | wall s | parent retrieved % | used logs % |`,
        `|---|---|---|${openBook ? "---|" : ""}---|---|---|---|---|---|---|`
    ];
    for (const s of report.modes) {
        const sec = (i: Interval) => ({...i, value: i.value / 1000, low: i.low / 1000, high: i.high / 1000});
        lines.push(`| ${s.mode} | ${s.n} | ${pct(s.accuracy)} |${openBook ? ` ${s.f1 == null ? "-" : num(s.f1, 3)} |` : ""} ${num(s.rounds, 2)} | ` +
            `${num(s.tokensIn, 0)} | ${num(s.tokensOut, 0)} | ${num(sec(s.ttftMs), 1)} | ${num(sec(s.totalMs), 1)} | ` +
            `${s.recall == null ? "-" : pct(s.recall)} | ${s.mode === "none" ? "-" : pct(s.withLogs)} |`);
    }
    const retrievable = report.modes.find((s) => s.recallRetrievable != null);
    if (retrievable != null) {
        lines.push("", "Parent retrieved, counting only tasks whose parent's log can be retrieved (its tests passed): " +
            report.modes.filter((s) => s.recallRetrievable != null).map((s) => `\`${s.mode}\` ${pct(s.recallRetrievable!)} % (n ${s.recallRetrievable!.n})`).join(", ") + ".");
    }
    if (report.kvVersus.length > 0) {
        lines.push("", "`kv` against each mode, paired on the n tasks done in both (tasks kv got right and the other wrong / the reverse; " +
            "difference in points with a 95 % interval; exact McNemar p):", "");
        for (const v of report.kvVersus) {
            const i = v.interval;
            const points = (x: number) => `${x >= 0 ? "+" : ""}${(100 * x).toFixed(1)}`;
            lines.push(`- vs \`${v.mode}\` (n ${v.n}): +${v.wins} / -${v.losses}, ${points(v.delta)} points` +
                (Number.isNaN(i.value) ? "" : ` [${points(i.low)}, ${points(i.high)}], p = ${v.p.toFixed(2)}`));
        }
    }
    const st = report.storage;
    if (st != null)
        lines.push("", `Storage over ${st.logs} logs: text ${kib(st.textBytesPerLog)} per log; KV (kv) ${kib(st.kvBytesPerLog)} per log ` +
            `(${st.kvTokensPerLog?.toFixed(0) ?? "-"} tokens); KV (kv-alone) ${kib(st.kvAloneBytesPerLog)} per log; store on disk ${(st.storeBytesOnDisk / 1048576).toFixed(1)} MiB.`);
    return lines.join("\n") + "\n";
}

export function directoryBytes(dir: string): number {
    let total = 0;
    const walk = (d: string) => {
        for (const entry of fs.readdirSync(d, {withFileTypes: true})) {
            const p = path.join(d, entry.name);
            if (entry.isDirectory())
                walk(p);
            else if (entry.isFile())
                total += fs.statSync(p).size;
        }
    };
    if (fs.existsSync(dir))
        walk(dir);
    return total;
}
