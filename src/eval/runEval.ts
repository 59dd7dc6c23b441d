import {parseEvalMode, type EvalMode} from "./evalMode.js";
import type {AskOptions, AskResult, HindsightEngine, LogOutcome, ScoreOptions, ScoreResult} from "../engine/index.js";
import {HindsightError, redactSecrets, throwIfAborted} from "../engine/index.js";
import type {EvalTask} from "./datasets.js";
import {itemKey, ProgressBar, type ItemRecord, type Journal} from "./Journal.js";
import type {Suite} from "./suites.js";

/** Which phases a command runs: `1` builds the memory only, `2` answers the test tasks (phase 1 must be complete). */
export type EvalPhase = "1" | "2" | "both";

/** What phase 2 measures: `pass` answers each task (pass@1, EM); `logprob` scores the reference answer (no generation). */
export type EvalMetric = "pass" | "logprob";

/** The engine's scoring call (`engine.score`): one forward pass over a given answer with the mode's memory in place. */
export type ScoreFn = (request: string, continuation: string, options: Partial<ScoreOptions> & {workspace: string}) => Promise<ScoreResult>;

export interface RunEvalOptions {
    modes: readonly EvalMode[];
    /** Defaults to `pass`. */
    metric?: EvalMetric;
    /** Workspace the phase 1 logs are stored under (and phase 2 searches). */
    workspace: string;
    /** Logs retrieved per query. Defaults to 3 (the paper's top-3). */
    k?: number;
    /** Defaults to both. */
    phase?: EvalPhase;
    signal?: AbortSignal;
    /** Progress output; defaults to a bar on stderr. Pass null for none. */
    progress?: ((text: string) => void) | null;
}

/**
 * Whether the graded (last) response of an answer stopped at the token cap rather than where the model ended it.
 * The engine reports only the total of generated tokens, so: exact for one generation (one round, not reflection:
 * `generated >= cap`); otherwise the last response is tokenized again and counts as cut off when it is within two
 * tokens of the cap (a re-tokenized text can differ from the generated tokens by a token at its trimmed ends). An
 * answer prefix given to the engine is not generated and is not counted.
 */
export function hitTokenCap(result: Pick<AskResult, "rounds" | "responses" | "tokens">, mode: EvalMode, maxTokens: number,
    countTokens: (text: string) => number, answerPrefix = ""): boolean {
    if (result.rounds === 1 && parseEvalMode(mode).mode !== "reflection")
        return result.tokens.generated >= maxTokens;
    let last = result.responses[result.responses.length - 1] ?? "";
    if (result.rounds === 1 && answerPrefix !== "" && last.startsWith(answerPrefix))
        last = last.slice(answerPrefix.length);
    return countTokens(last) >= maxTokens - 2;
}

/**
 * Whether an item keeps its responses in the journal: always in phase 1 (`rebuildStore` needs them), and in phase 2
 * when they hold more than the answer (several rounds, or a response the answer was extracted from), so the graded
 * text can be read again; a one-round response that is the answer itself is not kept twice.
 */
export function journalsResponses(phase: ItemRecord["phase"], result: Pick<AskResult, "answer" | "responses">): boolean {
    return phase === "log" || result.responses.length > 1 || (result.responses.length === 1 && result.responses[0] !== result.answer);
}

/** The ask options of a task: the suite's limits, logging off, and the task's answer prefix where it has one. */
export function askOptionsFor(suite: Suite, task: EvalTask, mode: EvalMode, o: RunEvalOptions): Partial<AskOptions> & {workspace: string} {
    const spec = parseEvalMode(mode);
    return {
        workspace: o.workspace, mode: spec.mode, k: spec.k ?? o.k ?? 3, verify: spec.verify, maxRounds: suite.maxRounds, maxTokensPerRound: suite.maxTokensPerRound,
        log: false, tools: task.tools ?? suite.tools, query: task.query, signal: o.signal, answerPrefix: task.answerPrefix
    };
}

/**
 * The two phases, resumable item by item. Phase 1 answers the log tasks with no memory and stores each as a log
 * (outcome from its grade where the suite says so); phase 2 answers every test task in every mode with the log
 * store fixed (no new logs), task by task so that a partial run covers all modes evenly. Every finished item goes
 * into the journal before the next one starts; items already there are skipped. A phase 1 item journals all that
 * its log is made of (task text, responses, workspace, outcome), so `rebuildStore` can make the store again.
 */
export async function runEval(engine: HindsightEngine, suite: Suite, journal: Journal, o: RunEvalOptions): Promise<void> {
    const phase = o.phase ?? "both";
    const logTasks = phase === "2" ? [] : suite.logTasks;
    const testTasks = phase === "1" ? [] : suite.testTasks;
    const total = logTasks.length + testTasks.length * o.modes.length;
    const phase2 = o.metric === "logprob" ? "score" : "eval";
    const keys = [
        ...logTasks.map((t) => itemKey("log", "none", t.id)),
        ...testTasks.flatMap((t) => o.modes.map((m) => itemKey(phase2, m, t.id)))
    ];
    const bar = o.progress === null ? null : new ProgressBar(total, keys.filter((k) => journal.has(k)).length, o.progress);

    // phase 1 logs already in the store (a run killed after storing a log but before journaling it); a log is known
    // by its task text, so a store rebuilt from the journal (new ids) serves the same run
    const logIdByRequest = new Map<string, string>();
    for (const log of await engine.store.listLogs({workspace: o.workspace}))
        logIdByRequest.set(log.task, log.id);
    // a journal whose phase 1 logs the store does not hold (store folder deleted, not copied, or another one)
    // would let phase 2 run against a memory it never built: refuse instead of reporting wrong numbers
    // the store keeps a task's text as storeLog redacted it
    const stored = (request: string) => redactSecrets(request).text;
    const storedIds = new Set(logIdByRequest.values());
    const lost = journal.all().filter((r) => r.phase === "log" && r.logId != null &&
        (r.request != null ? !logIdByRequest.has(stored(r.request)) : !storedIds.has(r.logId)));
    if (lost.length > 0)
        throw new HindsightError("INVALID_ARGUMENT", `This run's journal lists ${lost.length} logged task(s) that its log store does not hold ` +
            "(the store folder was removed or is not this run's). Continue the run where its store is, rebuild the store from the journal " +
            "with --rebuild-store, or start a new one with another --run name.");
    if (phase === "2") {
        const missing = suite.logTasks.filter((t) => !journal.has(itemKey("log", "none", t.id)));
        if (missing.length > 0)
            throw new HindsightError("INVALID_ARGUMENT", `Phase 1 has not logged ${missing.length} task(s) these tasks derive from ` +
                `(${missing.slice(0, 3).map((t) => t.id).join(", ")}${missing.length > 3 ? ", ..." : ""}); run phase 1 first (--phase 1).`);
    }

    const countTokens = (text: string) => engine.runtime.model.tokenize(text).length;
    // the round whose answer only repeated the request's code, per result (the engine's `incomplete` event)
    const askedAgain = new WeakMap<AskResult, number>();
    const ask = async (task: EvalTask, mode: EvalMode): Promise<AskResult> => {
        let incomplete: number | null = null;
        const result = await engine.ask(task.request, {...askOptionsFor(suite, task, mode, o), onEvent: (e) => {
            if (e.type === "incomplete")
                incomplete = e.round;
        }});
        if (incomplete != null)
            askedAgain.set(result, incomplete);
        const prefix = task.answerPrefix?.trim();
        if (prefix != null && !(result.responses[0] ?? "").startsWith(prefix))
            throw new HindsightError("INVALID_ARGUMENT", "This engine does not start the answer with the given answerPrefix " +
                "(the option has not landed in this build); use --answer-style body.");
        return result;
    };
    const record = (phase: ItemRecord["phase"], mode: EvalMode, task: EvalTask, result: AskResult, score: Awaited<ReturnType<EvalTask["grade"]>>,
        usedTasks: string[], extra: Partial<ItemRecord> = {}): ItemRecord => ({
        key: itemKey(phase, mode, task.id), phase, mode, taskId: task.id, ...(task.set != null && phase === "eval" ? {set: task.set} : {}),
        ...(task.parents.length > 0 ? {parents: task.parents} : {}),
        answer: result.answer, ...(journalsResponses(phase, result) ? {responses: result.responses} : {}),
        correct: score.correct, ...(score.f1 != null ? {f1: score.f1} : {}), detail: score.detail,
        rounds: result.rounds, tokensIn: result.tokens.prompt, tokensOut: result.tokens.generated,
        truncated: hitTokenCap(result, mode, suite.maxTokensPerRound, countTokens, task.answerPrefix),
        ttftMs: result.timings.ttftMs, totalMs: result.timings.totalMs,
        usedLogs: result.usedLogs, usedTasks,
        ...(result.reliance != null && result.reliance.length > 0 ? {reliance: result.reliance.map((r) => Math.round(r.share * 1000) / 1000)} : {}),
        parentRetrieved: task.parents.length === 0 ? null : task.parents.some((p) => usedTasks.includes(p)),
        ...(askedAgain.has(result) ? {askedAgain: askedAgain.get(result)} : {}),
        finishedAt: new Date().toISOString(), ...extra
    });

    try {
        for (const task of logTasks) {
            const key = itemKey("log", "none", task.id);
            if (journal.has(key))
                continue;
            throwIfAborted(o.signal);
            const result = await ask(task, "none");
            const score = await task.grade(result.answer, result.responses);
            let logId = logIdByRequest.get(stored(task.request));
            if (logId == null) {
                logId = (await engine.storeLog({task: task.request, workspace: o.workspace, responses: result.responses}, o.signal)).id;
                logIdByRequest.set(stored(task.request), logId);
            }
            const outcome: LogOutcome | undefined = suite.outcomesFromGrades ? (score.correct ? "tests-passed" : "tests-failed") : undefined;
            if (outcome != null)
                await engine.store.setOutcome(logId, outcome);
            journal.append(record("log", "none", task, result, score, [], {logId, request: task.request, workspace: o.workspace, ...(outcome != null ? {outcome} : {})}));
            bar?.tick(`log ${task.id}`);
        }

        // a used log's task: by the store's task text (ids change when a store is rebuilt), else by the journal's id
        const taskByRequest = new Map(suite.logTasks.map((t) => [stored(t.request), t.id]));
        const taskByLog = new Map(journal.all().filter((r) => r.phase === "log" && r.logId != null).map((r) => [r.logId!, r.taskId]));
        for (const [request, id] of logIdByRequest) {
            const taskId = taskByRequest.get(request) ?? journal.all().find((r) => r.phase === "log" && r.request != null && stored(r.request) === request)?.taskId;
            if (taskId != null)
                taskByLog.set(id, taskId);
        }
        // every KV mode's encoding made before anything is timed, so that no item pays a log's first use
        if (testTasks.some((t) => o.modes.some((m) => !journal.has(itemKey(phase2, m, t.id)))))
            for (const mode of new Set(o.modes.map((m) => parseEvalMode(m).mode))) {
                // a line at most every 10 s, so that encoding a store's logs (minutes) does not look like a hang
                let last = performance.now();
                await engine.prepareKv(mode, o.progress === null ? undefined : (done, total) => {
                    if (performance.now() - last < 10_000)
                        return;
                    last = performance.now();
                    process.stderr.write(`Encoding the logs' KV for ${mode} before timing it: ${done} of ${total} logs\n`);
                }, o.signal);
            }
        if (o.metric === "logprob") {
            await runScores((request, continuation, options) => engine.score(request, continuation, options), suite, journal, {...o, testTasks, taskByLog, tick: (label) => bar?.tick(label)});
            return;
        }
        for (const task of testTasks) {
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

/**
 * Phase 2 of the log-probability metric: for each task and mode, the mean log-probability per token of the task's
 * reference answer (`EvalTask.reference`, in the form the request asks for) given the request, with the memory that
 * mode puts in place (the engine builds the prompt and stacks the KV as `ask` does, one round). Journaled as `score`
 * items, resumable like answers; cheap (no generation), so a run can do it on every task first.
 */
export async function runScores(score: ScoreFn, suite: Suite, journal: Journal,
    o: RunEvalOptions & {testTasks: readonly EvalTask[], taskByLog: ReadonlyMap<string, string>, tick?: (label: string) => void}): Promise<void> {
    for (const task of o.testTasks) {
        if (task.reference == null)
            throw new HindsightError("INVALID_ARGUMENT", `Task ${task.id} has no reference answer to score; --metric logprob is for the code suite.`);
        for (const mode of o.modes) {
            const key = itemKey("score", mode, task.id);
            if (journal.has(key))
                continue;
            throwIfAborted(o.signal);
            const t0 = performance.now();
            // with an answer prefix the engine puts the prefix in the reply itself: score only what follows it
            const continuation = task.answerPrefix != null && task.reference.startsWith(task.answerPrefix) ? task.reference.slice(task.answerPrefix.length) : task.reference;
            const {workspace, mode: memory, k, tools, query, answerPrefix, signal} = askOptionsFor(suite, task, mode, o);
            const scored = await score(task.request, continuation, {workspace, mode: memory, k, tools, query, answerPrefix, signal});
            if (!Number.isFinite(scored.meanLogProb))
                throw new HindsightError("INTERNAL", `score() gave no finite mean log-probability for ${task.id} (${scored.meanLogProb}).`);
            const usedTasks = scored.usedLogs.map((id) => o.taskByLog.get(id) ?? id);
            journal.append({
                key, phase: "score", mode, taskId: task.id, ...(task.set != null ? {set: task.set} : {}), ...(task.parents.length > 0 ? {parents: task.parents} : {}),
                answer: "", correct: false, detail: "", rounds: 1, tokensIn: scored.promptTokens, tokensOut: 0, ttftMs: null, totalMs: performance.now() - t0,
                usedLogs: scored.usedLogs, usedTasks, parentRetrieved: task.parents.length === 0 ? null : task.parents.some((p) => usedTasks.includes(p)),
                logprob: scored.meanLogProb, scoredTokens: scored.tokens, finishedAt: new Date().toISOString()
            });
            o.tick?.(`score ${mode} ${task.id}`);
        }
    }
}

/**
 * Makes a run's log store again from its journal, on any machine: every phase 1 item's responses go through the
 * engine's own `storeLog` (the KV of the last response encoded after the whole log, and the embedding, from the
 * text; nothing is generated), in journal order, with the outcome the run gave it. The store must be empty (a new
 * folder) or hold what an interrupted rebuild of the same journal stored: the first n logs in journal order (known
 * by task text and workspace). Then the rebuild goes on from log n + 1; on two cores a 1.5B model's 164 logs take
 * about an hour. Returns the number of logs stored, and how many were already there. Journals written before
 * phase 1 kept all responses store a one-round log's answer instead of its response, and say so in `approximate`.
 */
export async function rebuildStore(engine: HindsightEngine, journal: Journal, workspace: string,
    o: {signal?: AbortSignal, progress?: (done: number, total: number) => void} = {}): Promise<{logs: number, approximate: number, resumed: number}> {
    const logs = journal.all().filter((r) => r.phase === "log");
    const resumed = await rebuiltSoFar(engine, logs, workspace);
    let approximate = 0;
    for (const [i, r] of logs.entries()) {
        throwIfAborted(o.signal);
        if (r.request == null)
            throw new HindsightError("INVALID_ARGUMENT", `The journal's item ${r.key} does not keep its task text (written before --rebuild-store existed); ` +
                "such a run can continue only where its store is.");
        if (r.responses == null)
            approximate++;
        if (i < resumed.length) {
            // stored before the interruption; its outcome may not have been written yet
            if (r.outcome != null)
                await engine.store.setOutcome(resumed[i]!, r.outcome);
            continue;
        }
        const log = await engine.storeLog({task: r.request, workspace: r.workspace ?? workspace, responses: r.responses ?? [r.answer]}, o.signal);
        if (r.outcome != null)
            await engine.store.setOutcome(log.id, r.outcome);
        o.progress?.(i + 1, logs.length);
    }
    return {logs: logs.length, approximate, resumed: resumed.length};
}

/**
 * The ids of the logs an interrupted rebuild stored, in journal order: the store's logs must be exactly the first n
 * of the journal's (by task text and workspace, in any order), else the store is someone else's and is refused.
 */
async function rebuiltSoFar(engine: HindsightEngine, logs: readonly ItemRecord[], workspace: string): Promise<string[]> {
    const stored = await engine.store.listLogs();
    const keyOf = (task: string | undefined, ws: string) => JSON.stringify([task, ws]);
    const byKey = new Map<string, string[]>();
    for (const l of stored) {
        const ids = byKey.get(keyOf(l.task, l.workspace)) ?? [];
        ids.push(l.id);
        byKey.set(keyOf(l.task, l.workspace), ids);
    }
    const ids = logs.slice(0, stored.length).map((r) => byKey.get(keyOf(r.request, r.workspace ?? workspace))?.pop());
    if (stored.length > logs.length || ids.some((id) => id == null))
        throw new HindsightError("INVALID_ARGUMENT", "The run's log store holds logs that are not the first ones of this journal: " +
            "--rebuild-store makes the store on a machine that lacks it, or goes on with one it began. " +
            "Move the store folder away first if it is to be replaced.");
    return ids as string[];
}
