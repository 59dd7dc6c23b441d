import fs from "node:fs";
import path from "node:path";
import {defaults} from "../engine/index.js";
import type {EvalMode} from "./evalMode.js";
import type {ItemRecord} from "./Journal.js";
import {mcnemarExactP, meanInterval, pairedDifference, pairedMeanDifference, wilson, type Interval} from "./metrics.js";

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
    modes: EvalMode[];
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
    mode: EvalMode;
    n: number;
    accuracy: Interval;
    /** Accuracy on the tasks whose parent log exists and passed its tests: "when the right memory is there". */
    conditional: Interval;
    f1: Interval | null;
    rounds: Interval;
    tokensIn: Interval;
    tokensOut: Interval;
    ttftMs: Interval;
    totalMs: Interval;
    /** Answers whose graded response stopped at the token cap, of the items that recorded it. */
    truncated: Interval;
    /** Share of tasks with a parent whose parent's log was reused (null: no task has a parent, or mode `none`). */
    recall: Interval | null;
    /** The same, over tasks whose parent's log can be retrieved at all (code: it passed its tests; failed logs are never reused). */
    recallRetrievable: Interval | null;
    /** Share of tasks that reused at least one log. */
    withLogs: Interval;
}

/** One mode against another, paired on the `n` tasks done in both (`conditional`: those whose parent log passed). */
export interface PairedComparison {
    mode: EvalMode;
    against: EvalMode;
    n: number;
    /** Tasks `mode` got right and `against` wrong; the reverse. */
    wins: number;
    losses: number;
    delta: number;
    interval: Interval;
    p: number;
    conditional: {n: number, wins: number, losses: number, delta: number, interval: Interval, p: number};
}

/** The log-probability metric of one mode against another: mean difference per task with the paired t 95 % interval. */
export interface ScoreComparison {
    mode: EvalMode;
    against: EvalMode;
    difference: Interval;
    /** Tasks where `mode` gave the reference a higher / lower mean log-probability. */
    higher: number;
    lower: number;
}

/** Everything reported for one data set (or for a suite without sets, `all`). */
export interface SetReport {
    set: string;
    /** Tasks of this set with at least one item; those answered in every mode that has answers in this set. */
    tasks: number;
    completeTasks: number;
    /** Modes with pass@1 answers in this set (`completeTasks` counts the tasks answered in all of them). */
    answeredModes: number;
    modes: ModeSummary[];
    /** Every mode against `none`, wins and losses apart (so harm cannot hide in a net gain). */
    versusNone: PairedComparison[];
    /** `kv` against every other mode. */
    kvVersus: PairedComparison[];
    /** The product's default memory mode (`defaults.mode`) against every other mode, when the run has it. */
    defaultVersus: PairedComparison[];
    /** The log-probability metric: mean per token per mode, and paired differences (empty without score items). */
    scores: {mode: EvalMode, n: number, mean: Interval}[];
    scoreVersus: ScoreComparison[];
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
    phase1: {n: number, accuracy: Interval, rounds: Interval, multiRound: Interval, truncated: Interval};
    /** All phase 2 tasks pooled (the per-set reports are in `sets`). */
    modes: ModeSummary[];
    /** Phase 2 tasks answered in every mode that has answers so far. */
    completeTasks: number;
    /** `kv` against each mode over all sets pooled (see `PairedComparison`). */
    kvVersus: PairedComparison[];
    sets: SetReport[];
    storage: StorageSummary | null;
    items: ItemRecord[];
}

/**
 * The set of an item: recorded since sets were kept, else the prefix of a `set:id` task id, else `fallback` (older
 * runs named only the later files' tasks: the rest belong to their first data file).
 */
export function setOf(item: ItemRecord, fallback = "all"): string {
    if (item.set != null)
        return item.set;
    const colon = item.taskId.indexOf(":");
    return colon > 0 ? item.taskId.slice(0, colon) : fallback;
}

type Pairs = {both: number, wins: number, losses: number, neither: number};

function compare(byTask: ReadonlyMap<string, Map<EvalMode, ItemRecord>>, mode: EvalMode, against: EvalMode, helped: (taskId: string) => boolean): PairedComparison {
    const tally = (keep: (taskId: string) => boolean) => {
        const t: Pairs = {both: 0, wins: 0, losses: 0, neither: 0};
        for (const [taskId, m] of byTask) {
            const a = m.get(mode), b = m.get(against);
            if (a == null || b == null || !keep(taskId))
                continue;
            if (a.correct && b.correct) t.both++;
            else if (a.correct) t.wins++;
            else if (b.correct) t.losses++;
            else t.neither++;
        }
        const n = t.both + t.wins + t.losses + t.neither;
        return {n, wins: t.wins, losses: t.losses, delta: n === 0 ? 0 : (t.wins - t.losses) / n, interval: pairedDifference(t), p: mcnemarExactP(t.wins, t.losses)};
    };
    return {mode, against, ...tally(() => true), conditional: tally(helped)};
}

function summarizeModes(modes: readonly EvalMode[], evals: readonly ItemRecord[], helped: (r: ItemRecord) => boolean): ModeSummary[] {
    return modes.map((mode): ModeSummary => {
        const rs = evals.filter((r) => r.mode === mode);
        const withParent = rs.filter((r) => r.parentRetrieved != null);
        const retrievable = withParent.filter(helped);
        const cond = rs.filter(helped);
        const counted = rs.filter((r) => r.truncated != null);
        return {
            mode, n: rs.length,
            accuracy: wilson(rs.filter((r) => r.correct).length, rs.length),
            conditional: wilson(cond.filter((r) => r.correct).length, cond.length),
            f1: rs.some((r) => r.f1 != null) ? meanInterval(rs.map((r) => r.f1 ?? 0)) : null,
            rounds: meanInterval(rs.map((r) => r.rounds)),
            tokensIn: meanInterval(rs.map((r) => r.tokensIn)),
            tokensOut: meanInterval(rs.map((r) => r.tokensOut)),
            ttftMs: meanInterval(rs.filter((r) => r.ttftMs != null).map((r) => r.ttftMs!)),
            totalMs: meanInterval(rs.map((r) => r.totalMs)),
            truncated: wilson(counted.filter((r) => r.truncated === true).length, counted.length),
            recall: mode === "none" || withParent.length === 0 ? null : wilson(withParent.filter((r) => r.parentRetrieved).length, withParent.length),
            recallRetrievable: mode === "none" || retrievable.length === 0 ? null : wilson(retrievable.filter((r) => r.parentRetrieved).length, retrievable.length),
            withLogs: wilson(rs.filter((r) => r.usedLogs.length > 0).length, rs.length)
        };
    });
}

function byTaskOf(items: readonly ItemRecord[]): Map<string, Map<EvalMode, ItemRecord>> {
    const byTask = new Map<string, Map<EvalMode, ItemRecord>>();
    for (const r of items) {
        if (!byTask.has(r.taskId))
            byTask.set(r.taskId, new Map());
        byTask.get(r.taskId)!.set(r.mode, r);
    }
    return byTask;
}

/**
 * `anchor` against each other memory of `modes` (not `none`, which has its own comparisons; the default is not set
 * against `kv` again, `kv` against the default is already there). Empty when `modes` lacks `anchor`.
 */
function memoryPairs(modes: readonly EvalMode[], anchor: EvalMode): [EvalMode, EvalMode][] {
    if (!modes.includes(anchor))
        return [];
    return modes.filter((m) => m !== anchor && m !== "none" && (anchor === "kv" || m !== "kv")).map((m): [EvalMode, EvalMode] => [anchor, m]);
}

function scoreReport(modes: readonly EvalMode[], scores: readonly ItemRecord[]): Pick<SetReport, "scores" | "scoreVersus"> {
    const byTask = byTaskOf(scores);
    const versus = (mode: EvalMode, against: EvalMode): ScoreComparison => {
        const a: number[] = [], b: number[] = [];
        for (const m of byTask.values()) {
            const x = m.get(mode)?.logprob, y = m.get(against)?.logprob;
            if (x != null && y != null) {
                a.push(x);
                b.push(y);
            }
        }
        return {mode, against, difference: pairedMeanDifference(a, b), higher: a.filter((x, i) => x > b[i]!).length, lower: a.filter((x, i) => x < b[i]!).length};
    };
    const present = modes.filter((m) => scores.some((r) => r.mode === m));
    return {
        scores: present.map((mode) => {
            const values = scores.filter((r) => r.mode === mode && r.logprob != null).map((r) => r.logprob!);
            return {mode, n: values.length, mean: meanInterval(values)};
        }),
        scoreVersus: [
            ...present.filter((m) => m !== "none" && present.includes("none")).map((m) => versus(m, "none")),
            ...memoryPairs(present, "kv").map(([a, b]) => versus(a, b)),
            ...memoryPairs(present, defaults.mode).map(([a, b]) => versus(a, b))
        ]
    };
}

export function summarize(meta: RunMeta, items: readonly ItemRecord[], storage: StorageSummary | null): RunReport {
    const phase1 = items.filter((r) => r.phase === "log");
    const evals = items.filter((r) => r.phase === "eval" && meta.modes.includes(r.mode));
    const scores = items.filter((r) => r.phase === "score" && meta.modes.includes(r.mode));
    // logs retrieval may return: code logs whose tests failed are excluded by the engine
    const retrievableLogs = new Set(phase1.filter((r) => meta.suite !== "code" || r.correct).map((r) => r.taskId));
    const helped = (r: ItemRecord) => r.parents?.some((p) => retrievableLogs.has(p)) === true;
    const helpedTask = new Set(evals.filter(helped).map((r) => r.taskId));
    const comparisons = (byTask: Map<string, Map<EvalMode, ItemRecord>>) => ({
        versusNone: meta.modes.includes("none") ? meta.modes.filter((m) => m !== "none").map((m) => compare(byTask, m, "none", (t) => helpedTask.has(t))) : [],
        kvVersus: meta.modes.includes("kv") ? meta.modes.filter((m) => m !== "kv").map((m) => compare(byTask, "kv", m, (t) => helpedTask.has(t))) : [],
        defaultVersus: memoryPairs(meta.modes, defaults.mode).map(([a, b]) => compare(byTask, a, b, (t) => helpedTask.has(t)))
    });
    // a mode run with the other metric only, or on none of these tasks, does not make every task incomplete
    const answeredModes = (byTask: Map<string, Map<EvalMode, ItemRecord>>) => meta.modes.filter((mode) => [...byTask.values()].some((m) => m.has(mode)));
    const complete = (byTask: Map<string, Map<EvalMode, ItemRecord>>) => {
        const modes = answeredModes(byTask);
        return [...byTask.values()].filter((m) => modes.every((mode) => m.has(mode))).length;
    };

    const first = meta.data[0] == null ? "all" : path.basename(meta.data[0]).replace(/\.(jsonl|json)(\.gz)?$/, "");
    const setOfItem = (r: ItemRecord) => setOf(r, first);
    const setNames = [...new Set([...evals, ...scores].map(setOfItem))];
    const sets = setNames.map((set): SetReport => {
        const rs = evals.filter((r) => setOfItem(r) === set);
        const byTask = byTaskOf(rs);
        return {
            set, tasks: new Set([...rs, ...scores.filter((r) => setOfItem(r) === set)].map((r) => r.taskId)).size, completeTasks: complete(byTask),
            answeredModes: answeredModes(byTask).length,
            modes: summarizeModes(meta.modes, rs, helped), ...comparisons(byTask),
            ...scoreReport(meta.modes, scores.filter((r) => setOfItem(r) === set))
        };
    });
    const all = byTaskOf(evals);
    const counted = phase1.filter((r) => r.truncated != null);
    return {
        meta,
        phase1: {
            n: phase1.length, accuracy: wilson(phase1.filter((r) => r.correct).length, phase1.length),
            rounds: meanInterval(phase1.map((r) => r.rounds)), multiRound: wilson(phase1.filter((r) => r.rounds > 1).length, phase1.length),
            truncated: wilson(counted.filter((r) => r.truncated === true).length, counted.length)
        },
        modes: summarizeModes(meta.modes, evals, helped), completeTasks: complete(all), kvVersus: comparisons(all).kvVersus,
        sets, storage, items: [...items]
    };
}

const pct = (i: Interval) => Number.isNaN(i.value) ? "-" : `${(100 * i.value).toFixed(1)} [${(100 * i.low).toFixed(1)}, ${(100 * i.high).toFixed(1)}]`;
const num = (i: Interval, digits = 1) => Number.isNaN(i.value) ? "-" : `${i.value.toFixed(digits)} ± ${((i.high - i.low) / 2).toFixed(digits)}`;
const kib = (b: number | null) => b == null ? "-" : `${(b / 1024).toFixed(1)} KiB`;
const points = (x: number) => `${x >= 0 ? "+" : ""}${(100 * x).toFixed(1)}`;
const sec = (i: Interval) => ({...i, value: i.value / 1000, low: i.low / 1000, high: i.high / 1000});

/** Stored bytes per log that a mode reads: none nothing, the text modes the text, the KV modes their KV. */
function storedPerLog(mode: EvalMode, st: StorageSummary | null): string {
    if (st == null)
        return "-";
    if (mode === "none")
        return "0";
    // variants (`kv+task`, ...) read a few more cells than their base; the base's figure is shown
    const base = mode.split(/[+@]/)[0];
    return kib(base === "kv" ? st.kvBytesPerLog : base === "kv-alone" ? st.kvAloneBytesPerLog : st.textBytesPerLog);
}

function comparisonLine(v: PairedComparison, conditional: boolean): string {
    const c = conditional ? v.conditional : v;
    const i = c.interval;
    return `\`${v.mode}\` vs \`${v.against}\` (n ${c.n}): +${c.wins} / -${c.losses}, ${points(c.delta)} points` +
        (Number.isNaN(i.value) ? "" : ` [${points(i.low)}, ${points(i.high)}], p = ${pValue(c.p)}`);
}

/** Two decimals, or one significant digit below 0.01 (an exact McNemar p of 11 wins to none is 0.001, not "0.00"). */
export function pValue(p: number): string {
    return p >= 0.01 ? p.toFixed(2) : p.toPrecision(1);
}

/** The settings every result file states: model, KV type, budget, answer style. */
export function settingsLine(m: RunMeta): string {
    return `${m.model.name} (\`${path.basename(m.model.path)}\`), KV ${m.model.kvType}, top-${m.k}, ${m.maxRounds} round(s) x ${m.maxTokensPerRound} tokens` +
        (m.answerStyle != null ? `, answers: ${m.answerStyle}` : "");
}

export function toMarkdown(report: RunReport): string {
    const m = report.meta;
    const openBook = report.modes.some((s) => s.f1 != null);
    const commands = m.commands ?? [m.command];
    const lines = [
        `# ${m.suite}: ${m.model.name}`,
        "",
        `- Model: \`${path.basename(m.model.path)}\` (${m.model.name}, sha256 ${m.model.sha256.slice(0, 12)}), KV cache ${m.model.kvType}, ` +
            `${m.model.threads} thread(s), context ${m.model.contextSize}, greedy decoding.`,
        `- Budget: top-${m.k} logs per query, at most ${m.maxRounds} round(s) of ${m.maxTokensPerRound} tokens` +
            (m.answerStyle != null ? `; code answers asked for as \`${m.answerStyle}\`` : "") + ".",
        commands.length === 1 ? `- Command: \`${commands[0]}\`` : `- Commands (in order):\n${commands.map((c) => `  - \`${c}\``).join("\n")}`,
        `- Phase 1 (logged, mode none): ${report.phase1.n}/${m.logTasks} tasks, ${pct(report.phase1.accuracy)} % correct; ` +
            `${num(report.phase1.rounds, 2)} rounds per log, ${pct(report.phase1.multiRound)} % of logs with several rounds ` +
            `(only there do \`kv\` and \`kv-alone\` store different KV); ${truncatedText(report.phase1.truncated)}.`,
        `- Phase 2: ${report.sets.length} set(s); ${report.items.filter((r) => r.phase === "eval").length} pass@1 answers and ` +
            `${report.items.filter((r) => r.phase === "score").length} log-probability items. Each set's section lists the modes run on it; ` +
            "a comparison is shown only where both modes have items on the same tasks.",
        `- Updated ${m.updatedAt} on ${m.host}. Intervals are 95 %: Wilson for rates, normal for means (± half-width), ` +
            "Newcombe for paired differences of rates (exact McNemar p), paired t for differences of log-probabilities.",
        "- \"cond.\": only the tasks whose parent log exists and passed its tests (the memory that could help is there)."
    ];
    lines.push(...overview(report));
    for (const set of report.sets) {
        const ran = set.modes.filter((s) => s.n > 0);
        lines.push("", `## ${set.set}`, "", `${set.tasks} tasks; ${set.completeTasks} answered in all ${set.answeredModes} modes with answers here ` +
            "(each mode's n is in the table; each comparison pairs the tasks both modes answered).");
        if (ran.length === 0)
            lines.push("", "No pass@1 answers in this set yet.");
        else
            lines.push("",
                `| mode | n | ${m.suite === "code" ? "pass@1 %" : "EM %"} | cond. % (n) |${openBook ? " F1 |" : ""} truncated | rounds | tokens in | TTFT s | wall s | stored / log | parent retrieved % | (cond.) % |`,
                `|---|---|---|---|${openBook ? "---|" : ""}---|---|---|---|---|---|---|---|`);
        for (const s of ran) {
            const counted = s.truncated.n;
            lines.push(`| ${s.mode} | ${s.n} | ${pct(s.accuracy)} | ${pct(s.conditional)} (${s.conditional.n}) |${openBook ? ` ${s.f1 == null ? "-" : num(s.f1, 3)} |` : ""} ` +
                `${counted === 0 ? "-" : `${Math.round(s.truncated.value * counted)}/${counted}`} | ${num(s.rounds, 2)} | ${num(s.tokensIn, 0)} | ` +
                `${num(sec(s.ttftMs), 1)} | ${num(sec(s.totalMs), 1)} | ${storedPerLog(s.mode, report.storage)} | ` +
                `${s.recall == null ? "-" : pct(s.recall)} | ${s.recallRetrievable == null ? "-" : pct(s.recallRetrievable)} |`);
        }
        const pairedLines = (vs: readonly PairedComparison[]) =>
            vs.filter((v) => v.n > 0).map((v) => `- ${comparisonLine(v, false)}; cond. ${comparisonLine(v, true).replace(/^`[^`]+` vs `[^`]+` /, "")}`);
        const sections: [string, PairedComparison[]][] = [
            ["Against `none`, paired (tasks right only with the mode / right only without it; all tasks, then cond.):", set.versusNone],
            ["`kv` against the other memories, paired:", set.kvVersus.filter((v) => v.against !== "none")],
            [`The default mode \`${defaults.mode}\` against the other memories, paired:`, set.defaultVersus]
        ];
        for (const [title, vs] of sections) {
            const shown = pairedLines(vs);
            if (shown.length > 0)
                lines.push("", title, "", ...shown);
        }
        if (set.scores.length > 0) {
            lines.push("", "Log-probability of the reference answer (mean per token, with that mode's memory in place):", "",
                `- ${set.scores.map((sc) => `\`${sc.mode}\` ${num(sc.mean, 3)} (n ${sc.n})`).join(", ")}`,
                ...set.scoreVersus.map((v) => {
                    const d = v.difference;
                    return `- \`${v.mode}\` - \`${v.against}\` (n ${d.n}): ${Number.isNaN(d.value) ? "-" : d.value.toFixed(3)}` +
                        (Number.isNaN(d.low) ? "" : ` [${d.low.toFixed(3)}, ${d.high.toFixed(3)}]`) + `, higher on ${v.higher}, lower on ${v.lower}`;
                }));
        }
    }
    const st = report.storage;
    if (st != null)
        lines.push("", `Storage over ${st.logs} logs: text ${kib(st.textBytesPerLog)} per log; KV (kv) ${kib(st.kvBytesPerLog)} per log ` +
            `(${st.kvTokensPerLog?.toFixed(0) ?? "-"} tokens); KV (kv-alone) ${kib(st.kvAloneBytesPerLog)} per log; store on disk ${(st.storeBytesOnDisk / 1048576).toFixed(1)} MiB.`);
    return lines.join("\n") + "\n";
}

/**
 * Every mode against `none` in one table, a column pair per set: pass@1 wins / losses (the tasks right only with the
 * mode, only without it) and the log-probability difference, then the prompt tokens and TTFT over all sets. Gain on
 * rephrasings and harm on changed tasks side by side; the per-set sections below have the intervals and p.
 */
function overview(report: RunReport): string[] {
    // the modes with an answer or a log-probability item in some set
    const modes = report.meta.modes.filter((m) => m !== "none" && report.sets.some((set) =>
        set.modes.some((s) => s.mode === m && s.n > 0) || set.scores.some((sc) => sc.mode === m && sc.n > 0)));
    if (!report.meta.modes.includes("none") || modes.length === 0 || report.sets.length === 0)
        return [];
    const passCell = (set: SetReport, mode: EvalMode) => {
        const v = set.versusNone.find((x) => x.mode === mode);
        return v == null || v.n === 0 ? "-" : `+${v.wins} / -${v.losses} (${v.n})`;
    };
    const scoreCell = (set: SetReport, mode: EvalMode) => {
        const d = set.scoreVersus.find((x) => x.mode === mode && x.against === "none")?.difference;
        if (d == null || d.n === 0 || Number.isNaN(d.value))
            return "-";
        const signed = (x: number) => `${x >= 0 ? "+" : ""}${x.toFixed(3)}`;
        return `${signed(d.value)}${Number.isNaN(d.low) ? "" : ` [${signed(d.low)}, ${signed(d.high)}]`} (${d.n})`;
    };
    const pooled = (mode: EvalMode) => report.modes.find((x) => x.mode === mode);
    const head = report.sets.flatMap((set) => [`${set.set} pass@1 vs none`, `${set.set} log-prob vs none`]);
    return [
        "",
        "## Every mode against `none`",
        "",
        "pass@1: tasks right only with the mode / right only without it (paired tasks); log-prob: mean difference per token of the " +
            "reference answer's log-probability, paired t 95 % interval (tasks). Tokens in and TTFT over the answers of all sets.",
        "",
        `| mode | ${head.join(" | ")} | tokens in | TTFT s |`,
        `|---|${head.map(() => "---|").join("")}---|---|`,
        ...[["none" as EvalMode], modes].flat().map((mode) => {
            const cells = mode === "none" ? report.sets.flatMap(() => ["", ""]) : report.sets.flatMap((set) => [passCell(set, mode), scoreCell(set, mode)]);
            const s = pooled(mode);
            return `| ${mode} | ${cells.join(" | ")} | ${s == null || s.n === 0 ? "-" : num(s.tokensIn, 0)} | ${s == null || s.n === 0 ? "-" : num(sec(s.ttftMs), 1)} |`;
        })
    ];
}

function truncatedText(i: Interval): string {
    return i.n === 0 ? "truncation not recorded" : `${Math.round(i.value * i.n)}/${i.n} answers cut off at the token cap`;
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
