import fs from "node:fs";
import path from "node:path";
import {fileURLToPath} from "node:url";
import type {ToolHost} from "../engine/index.js";
import {HindsightError} from "../engine/index.js";
import {CorpusToolHost, type Paragraph} from "./CorpusToolHost.js";
import {codeTasks, mmluProTasks, readRows, seededOrder, supportingTitles, twoWikiTasks, type EvalTask} from "./datasets.js";

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
}

/** The shipped data: eval/data in the package root, the first folder above this module that has one. */
export function shippedDataDir(): string {
    let dir = path.dirname(fileURLToPath(import.meta.url));
    for (;;) {
        const candidate = path.join(dir, "eval", "data");
        if (fs.existsSync(path.join(dir, "package.json")) && fs.existsSync(candidate))
            return candidate;
        const up = path.dirname(dir);
        if (up === dir)
            throw new HindsightError("INVALID_ARGUMENT", "The shipped evaluation data (eval/data) was not found; pass --data and --log-data.");
        dir = up;
    }
}

export function loadSuite(name: SuiteName, o: SuiteOptions): Suite {
    const d = shippedDataDir();
    const take = <T>(items: T[], n: number | undefined) => n == null ? items : items.slice(0, n);
    if (name === "code") {
        const data = o.data ?? [path.join(d, "evoeval/EvoEval_difficult.jsonl.gz"), path.join(d, "evoeval/EvoEval_creative.jsonl.gz")];
        const logData = o.logData ?? [path.join(d, "humaneval/HumanEval.jsonl.gz")];
        // several rounds: the agent may run its code against the docstring's examples (run_tests) and fix it
        const maxRounds = o.maxRounds ?? 3;
        const withTests = maxRounds > 1;
        const tests = take(seededOrder(uniqueIds(data.map((f) => codeTasks(f, withTests)), data), o.seed), o.limit);
        const pool = logData.flatMap((f) => codeTasks(f, withTests));
        const parents = new Set(tests.flatMap((t) => t.parents));
        const logTasks = [...pool.filter((t) => parents.has(t.id)), ...(o.logLimit == null ? [] : pool.filter((t) => !parents.has(t.id)))];
        return {
            name, testTasks: tests, logTasks: take(logTasks, o.logLimit),
            maxRounds, maxTokensPerRound: o.maxTokensPerRound ?? 384, tools: null,
            outcomesFromGrades: true, files: {data, logData}
        };
    }
    if (name === "mmlupro") {
        const data = o.data ?? [path.join(d, "mmlupro/dev_test.json.gz")];
        const logData = o.logData ?? [path.join(d, "mmlupro/dev_train.json.gz")];
        return {
            name,
            testTasks: take(seededOrder(data.flatMap((f) => mmluProTasks(f)), o.seed), o.limit),
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
            testTasks: take(seededOrder(data.flatMap((f) => twoWikiTasks(f, covered)), o.seed), o.limit),
            logTasks: take(seededOrder(logData.flatMap((f) => twoWikiTasks(f, covered)), o.seed), o.logLimit),
            maxRounds: o.maxRounds ?? 8, maxTokensPerRound: o.maxTokensPerRound ?? 192, tools: host,
            outcomesFromGrades: false, files: {data, logData, corpus}
        };
    }
    throw new HindsightError("INVALID_ARGUMENT", `Unknown suite "${String(name)}"; use ${suiteNames.join(", ")}.`);
}

/**
 * Tasks of several files with their ids kept unique: an id already used by an earlier file (EvoEval's variants all
 * number their tasks EvoEval/0..) is prefixed with its file's name, e.g. `EvoEval_creative:EvoEval/36`.
 */
export function uniqueIds(perFile: readonly EvalTask[][], files: readonly string[]): EvalTask[] {
    const seen = new Set<string>();
    return perFile.flatMap((tasks, i) => {
        const stem = path.basename(files[i]!).replace(/\.(jsonl|json)(\.gz)?$/, "");
        const renamed = tasks.map((t) => seen.has(t.id) ? {...t, id: `${stem}:${t.id}`} : t);
        renamed.forEach((t) => seen.add(t.id));
        return renamed;
    });
}
