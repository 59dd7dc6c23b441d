import type {AskMode, AskResult, HindsightEngine} from "../engine/index.js";
import {HindsightError, throwIfAborted} from "../engine/index.js";
import type {EvalTask} from "./datasets.js";
import {itemKey, ProgressBar, type ItemRecord, type Journal} from "./Journal.js";
import type {Suite} from "./suites.js";

export interface RunEvalOptions {
    modes: readonly AskMode[];
    /** Workspace the phase 1 logs are stored under (and phase 2 searches). */
    workspace: string;
    /** Logs retrieved per query. Defaults to 3 (the paper's top-3). */
    k?: number;
    signal?: AbortSignal;
    /** Progress output; defaults to a bar on stderr. Pass null for none. */
    progress?: ((text: string) => void) | null;
}

/**
 * The two phases, resumable item by item. Phase 1 answers the log tasks with no memory and stores each as a log
 * (outcome from its grade where the suite says so); phase 2 answers every test task in every mode with the log
 * store fixed (no new logs), task by task so that a partial run covers all modes evenly. Every finished item goes
 * into the journal before the next one starts; items already there are skipped.
 */
export async function runEval(engine: HindsightEngine, suite: Suite, journal: Journal, o: RunEvalOptions): Promise<void> {
    const total = suite.logTasks.length + suite.testTasks.length * o.modes.length;
    const keys = [
        ...suite.logTasks.map((t) => itemKey("log", "none", t.id)),
        ...suite.testTasks.flatMap((t) => o.modes.map((m) => itemKey("eval", m, t.id)))
    ];
    const bar = o.progress === null ? null : new ProgressBar(total, keys.filter((k) => journal.has(k)).length, o.progress);

    // phase 1 logs already in the store (a run killed after storing a log but before journaling it)
    const logIdByRequest = new Map<string, string>();
    for (const log of await engine.store.listLogs({workspace: o.workspace}))
        logIdByRequest.set(log.task, log.id);
    // a journal whose phase 1 logs the store does not hold (store folder deleted, not copied, or another one)
    // would let phase 2 run against a memory it never built: refuse instead of reporting wrong numbers
    const storedIds = new Set(logIdByRequest.values());
    const lost = journal.all().filter((r) => r.phase === "log" && r.logId != null && !storedIds.has(r.logId));
    if (lost.length > 0)
        throw new HindsightError("INVALID_ARGUMENT", `This run's journal lists ${lost.length} logged task(s) that its log store does not hold ` +
            "(the store folder was removed or is not this run's). Continue the run where its store is, or start a new one with another --run name.");

    const ask = (task: EvalTask, mode: AskMode): Promise<AskResult> => engine.ask(task.request, {
        workspace: o.workspace, mode, k: o.k ?? 3, maxRounds: suite.maxRounds, maxTokensPerRound: suite.maxTokensPerRound,
        log: false, tools: task.tools ?? suite.tools, query: task.query, signal: o.signal
    });
    const record = (phase: ItemRecord["phase"], mode: AskMode, task: EvalTask, result: AskResult, score: Awaited<ReturnType<EvalTask["grade"]>>,
        usedTasks: string[], extra: Partial<ItemRecord> = {}): ItemRecord => ({
        key: itemKey(phase, mode, task.id), phase, mode, taskId: task.id, ...(task.set != null && phase === "eval" ? {set: task.set} : {}), ...(task.parents.length > 0 ? {parents: task.parents} : {}),
        answer: result.answer, ...(result.responses.length > 1 ? {responses: result.responses} : {}), correct: score.correct, ...(score.f1 != null ? {f1: score.f1} : {}), detail: score.detail,
        rounds: result.rounds, tokensIn: result.tokens.prompt, tokensOut: result.tokens.generated,
        ttftMs: result.timings.ttftMs, totalMs: result.timings.totalMs,
        usedLogs: result.usedLogs, usedTasks,
        parentRetrieved: task.parents.length === 0 ? null : task.parents.some((p) => usedTasks.includes(p)),
        finishedAt: new Date().toISOString(), ...extra
    });

    try {
        for (const task of suite.logTasks) {
            const key = itemKey("log", "none", task.id);
            if (journal.has(key))
                continue;
            throwIfAborted(o.signal);
            const result = await ask(task, "none");
            const score = await task.grade(result.answer, result.responses);
            let logId = logIdByRequest.get(task.request);
            if (logId == null) {
                logId = (await engine.storeLog({task: task.request, workspace: o.workspace, responses: result.responses}, o.signal)).id;
                logIdByRequest.set(task.request, logId);
            }
            if (suite.outcomesFromGrades)
                await engine.store.setOutcome(logId, score.correct ? "tests-passed" : "tests-failed");
            journal.append(record("log", "none", task, result, score, [], {logId}));
            bar?.tick(`log ${task.id}`);
        }

        const taskByLog = new Map(journal.all().filter((r) => r.phase === "log" && r.logId != null).map((r) => [r.logId!, r.taskId]));
        for (const task of suite.testTasks) {
            for (const mode of o.modes) {
                const key = itemKey("eval", mode, task.id);
                if (journal.has(key))
                    continue;
                throwIfAborted(o.signal);
                const result = await ask(task, mode);
                const score = await task.grade(result.answer, result.responses);
                journal.append(record("eval", mode, task, result, score, result.usedLogs.map((id) => taskByLog.get(id) ?? id)));
                bar?.tick(`${mode} ${task.id}`);
            }
        }
    } finally {
        bar?.end();
    }
}
