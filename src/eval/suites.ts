import fs from "node:fs";
import path from "node:path";
import {findUp} from "./findUp.js";
import type {ToolHost} from "../engine/index.js";
import {HindsightError} from "../engine/index.js";
import {CorpusToolHost, type Paragraph} from "./CorpusToolHost.js";
import {codeTasks, mmluProTasks, readRows, seededOrder, supportingTitles, twoWikiTasks, type AnswerStyle, type EvalTask} from "./datasets.js";

export type SuiteName = "code" | "mmlupro" | "2wiki";
export const suiteNames: readonly SuiteName[] = ["code", "mmlupro", "2wiki"];

/** What a run evaluates: phase 1 tasks to log, phase 2 tasks to answer in every mode, and the agent's limits. */
export interface Suite {
    name: SuiteName;
    logTasks: EvalTask[];
    testTasks: EvalTask[];
    maxRounds: number;
    maxTokensPerRound: number;
    tools: ToolHost | null;
    /** Phase 1 logs get the outcome of their grading (tests-passed / tests-failed), as a user's test runs would. */
    outcomesFromGrades: boolean;
    files: {data: string[], logData: string[], corpus?: string};
}

export interface SuiteOptions {
    /** Data files (comma-separated on the CLI) for phase 2 and phase 1; defaults to the shipped copies. */
    data?: string[];
    logData?: string[];
    corpus?: string;
    /** Phase 2 tasks. Defaults to all. */
    limit?: number;
    /** Phase 1 tasks. Code: the parents of the phase 2 tasks, then others up to this many. Defaults to all (code: parents). */
    logLimit?: number;
    seed: number;
    maxRounds?: number;
    maxTokensPerRound?: number;
    /** Code: how the answer is asked for. Defaults to `body`. */
    answerStyle?: AnswerStyle;
    /**
     * Phase 2 tasks: only `n` of the tasks `limit` leaves, drawn with `seed` (at least 1) and kept in their order, for
     * the costly modes (the CLI's `--subset N:SEED`); the same draw pairs with the cheap modes' run over all of them, and a
     * larger `n` with the same seed keeps a smaller one's tasks (a subset run grows by raising N).
     */
    subset?: {n: number, seed: number};
}

/** `subset`'s draw: `n` of `tasks` by a seeded order, in the order of `tasks`. */
export function drawSubset<T>(tasks: readonly T[], subset: {n: number, seed: number} | undefined): T[] {
    if (subset == null)
        return [...tasks];
    const chosen = new Set(seededOrder(tasks, subset.seed).slice(0, subset.n));
    return tasks.filter((t) => chosen.has(t));
}

/** The EvoEval sets shipped in eval/data/evoeval, by the short names `--sets` takes. */
export const evoEvalSets = ["difficult", "creative", "tool_use", "verbose", "concise"] as const;

/** The shipped files of EvoEval sets named by their short names (`concise`) or file stems (`EvoEval_concise`). */
export function evoEvalFiles(names: readonly string[]): string[] {
    const d = shippedDataDir();
    return names.map((name) => {
        const short = name.replace(/^EvoEval_/, "");
        if (!(evoEvalSets as readonly string[]).includes(short))
            throw new HindsightError("INVALID_ARGUMENT", `Unknown EvoEval set "${name}"; use ${evoEvalSets.join(", ")}.`);
        return path.join(d, "evoeval", `EvoEval_${short}.jsonl.gz`);
    });
}

/** The set a data file holds: its name without the extension (`EvoEval_concise`). */
export function setName(file: string): string {
    return path.basename(file).replace(/\.(jsonl|json)(\.gz)?$/, "");
}

/** The shipped data: eval/data in the package root, the first folder above this module that has one. */
export function shippedDataDir(): string {
    const found = findUp(import.meta.url, (dir) => {
        const candidate = path.join(dir, "eval", "data");
        return fs.existsSync(path.join(dir, "package.json")) && fs.existsSync(candidate) ? candidate : null;
    });
    if (found == null)
        throw new HindsightError("INVALID_ARGUMENT", "The shipped evaluation data (eval/data) was not found; pass --data and --log-data.");
    return found;
}

export function loadSuite(name: SuiteName, o: SuiteOptions): Suite {
    const d = shippedDataDir();
    const take = <T>(items: T[], n: number | undefined) => n == null ? items : items.slice(0, n);
    const testsOf = <T>(items: T[]) => drawSubset(take(seededOrder(items, o.seed), o.limit), o.subset);
    if (name === "code") {
        const data = o.data ?? [path.join(d, "evoeval/EvoEval_difficult.jsonl.gz"), path.join(d, "evoeval/EvoEval_creative.jsonl.gz")];
        const logData = o.logData ?? [path.join(d, "humaneval/HumanEval.jsonl.gz")];
        // several rounds: the agent may run its code against the docstring's examples (run_tests) and fix it
        const maxRounds = o.maxRounds ?? 3;
        const withTests = maxRounds > 1;
        const style = o.answerStyle ?? "body";
        const pool = logData.flatMap((f) => codeTasks(f, withTests, style));
        const tests = testsOf(testTasksOf(data, (f) => codeTasks(f, withTests, style), new Set(pool.map((t) => t.id))));
        const parents = new Set(tests.flatMap((t) => t.parents));
        const logTasks = [...pool.filter((t) => parents.has(t.id)), ...(o.logLimit == null ? [] : pool.filter((t) => !parents.has(t.id)))];
        return {
            name, testTasks: tests, logTasks: take(logTasks, o.logLimit),
            maxRounds, maxTokensPerRound: o.maxTokensPerRound ?? defaultCodeTokens, tools: null,
            outcomesFromGrades: true, files: {data, logData}
        };
    }
    if (name === "mmlupro") {
        const data = o.data ?? [path.join(d, "mmlupro/dev_test.json.gz")];
        const logData = o.logData ?? [path.join(d, "mmlupro/dev_train.json.gz")];
        return {
            name,
            testTasks: testsOf(data.flatMap((f) => mmluProTasks(f))),
            logTasks: take(seededOrder(logData.flatMap((f) => mmluProTasks(f)), o.seed), o.logLimit),
            maxRounds: o.maxRounds ?? 1, maxTokensPerRound: o.maxTokensPerRound ?? 256, tools: null,
            outcomesFromGrades: false, files: {data, logData}
        };
    }
    if (name === "2wiki") {
        const data = o.data ?? [path.join(d, "2wiki/dev_test.covered.json.gz")];
        const logData = o.logData ?? [path.join(d, "2wiki/dev_train.covered.json.gz")];
        const corpus = o.corpus ?? path.join(d, "2wiki/corpus.json.gz");
        const host = new CorpusToolHost(readRows(corpus).map((r) => ({title: String(r.title), text: String(r.text)}) satisfies Paragraph));
        const titles = host.titles;
        const covered = (row: Record<string, unknown>) => supportingTitles(row).every((t) => titles.has(t));
        return {
            name,
            testTasks: testsOf(data.flatMap((f) => twoWikiTasks(f, covered))),
            logTasks: take(seededOrder(logData.flatMap((f) => twoWikiTasks(f, covered)), o.seed), o.logLimit),
            maxRounds: o.maxRounds ?? 8, maxTokensPerRound: o.maxTokensPerRound ?? 192, tools: host,
            outcomesFromGrades: false, files: {data, logData, corpus}
        };
    }
    throw new HindsightError("INVALID_ARGUMENT", `Unknown suite "${String(name)}"; use ${suiteNames.join(", ")}.`);
}

/** Tokens per round of the code suite (see src/eval/README.md, "Answers that fit"). */
export const defaultCodeTokens = 768;

/**
 * Phase 2 tasks of several files. Each task's id is its file's set name and its own id (`EvoEval_creative:EvoEval/36`,
 * `EvoEval_concise:HumanEval/13`), so ids never collide across sets whichever sets a command names, and `set` says
 * which set it belongs to. A row without a parent field whose own id is a phase 1 task's (EvoEval verbose and concise
 * keep HumanEval's `task_id`) is a same-id variant: its parent is that task.
 */
export function testTasksOf(files: readonly string[], read: (file: string) => EvalTask[], logIds: ReadonlySet<string>): EvalTask[] {
    return files.flatMap((file) => {
        const set = setName(file);
        return read(file).map((t) => ({
            ...t, id: `${set}:${t.id}`, set,
            parents: t.parents.length === 0 && logIds.has(t.id) ? [t.id] : t.parents
        }));
    });
}
