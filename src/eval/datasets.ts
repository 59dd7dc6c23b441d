import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import {HindsightError} from "../engine/index.js";
import {candidateProgram, gradePython, latestWithCode} from "./pythonGrader.js";
import type {ToolHost} from "../engine/index.js";
import {CodeToolHost} from "./CodeToolHost.js";
import {choiceLetter, exactMatch, f1Score, parsePythonStringList} from "./metrics.js";

/** How one answer was scored. `f1` only for open answers. */
export interface Score {
    correct: boolean;
    f1?: number;
    /** What was compared (the extracted letter, the answer text) or why the code failed. */
    detail: string;
}

/** One task: the text the agent gets, how to grade its answer, and the logged tasks it was derived from. */
export interface EvalTask {
    id: string;
    request: string;
    /** The task's own words without the harness's instructions: what retrieval searches with. */
    query: string;
    /** Tools of this task (code: run_tests over its examples); otherwise the suite's. */
    tools?: ToolHost;
    /** Ids of phase 1 tasks this one was evolved from (EvoEval `parent`, `p1`, `p2`; same-id variants: its own id). */
    parents: string[];
    /** The data set a phase 2 task belongs to (its file's name, e.g. `EvoEval_concise`); reports are per set. */
    set?: string;
    /** Code: the reference answer in the form the request asks for (the log-probability metric scores it). */
    reference?: string;
    /** Code: the text an answer starts with when the engine is given it as an assistant-reply prefix. */
    answerPrefix?: string;
    /** `responses`: all the model wrote; code falls back to the last code block there when the answer has none. */
    grade(answer: string, responses?: readonly string[]): Promise<Score>;
}

export type Row = Record<string, unknown>;

/** Rows of a `.json` array, `.jsonl` or either gzipped. */
export function readRows(file: string): Row[] {
    let buffer: Buffer;
    try {
        buffer = fs.readFileSync(file);
    } catch (err) {
        throw new HindsightError("INVALID_ARGUMENT", `Cannot read the data file ${file} (${(err as Error).message}).`);
    }
    const text = (file.endsWith(".gz") ? zlib.gunzipSync(buffer) : buffer).toString("utf8");
    const base = file.replace(/\.gz$/, "");
    try {
        if (base.endsWith(".jsonl"))
            return text.split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l) as Row);
        const parsed = JSON.parse(text) as unknown;
        if (!Array.isArray(parsed))
            throw new Error("the file is not a JSON array");
        return parsed as Row[];
    } catch (err) {
        throw new HindsightError("INVALID_ARGUMENT", `The data file ${file} is not valid ${base.endsWith(".jsonl") ? "JSONL" : "JSON"}: ${(err as Error).message}`);
    }
}

function field(row: Row, name: string, file: string): string {
    const value = row[name];
    if (typeof value !== "string" && typeof value !== "number")
        throw new HindsightError("INVALID_ARGUMENT", `A row of ${path.basename(file)} has no "${name}" field; is it in the format of the shipped files?`);
    return String(value);
}

/**
 * How a code task asks for its answer. `body` (the default): the prompt gives the signature and docstring and asks
 * for the body only, so the answer does not spend its budget repeating the docstring. `whole`: the whole function
 * (the protocol before December 2026). `prefix`: the whole function, with the first reply started for the model by
 * `answerPrefix` (a code fence and the task's prompt, EvalPlus style), for an engine whose ask takes that option.
 */
export type AnswerStyle = "body" | "whole" | "prefix";
export const answerStyles: readonly AnswerStyle[] = ["body", "whole", "prefix"];

/** The request text of a code task (see `AnswerStyle`); `withTests`: the run_tests protocol of several rounds. */
export function codeRequest(prompt: string, withTests: boolean, style: AnswerStyle): string {
    const what = style === "body"
        ? "only the body of the function (the indented lines that follow its docstring; do not repeat the signature or the docstring) in one ```python code block"
        : "the whole function (its imports and signature, then the body; do not repeat the docstring) in one ```python code block";
    const final = style === "body" ? "the final body" : "the final function";
    return (withTests
        ? `Complete the following Python function. Write ${what}, then write ACTION: run_tests on its own line to check it ` +
          `against the examples. When the examples pass, or you have fixed the code, write ANSWER: and ${final} in one \`\`\`python code block.`
        : `Complete the following Python function. After ANSWER:, write ${what}.`) +
        "\n\n```python\n" + prompt.trimEnd() + "\n```";
}

/** The canonical solution without the blank lines some data sets put before it. */
function canonicalBody(canonical: string): string {
    return canonical.replace(/^(?:[ \t]*\n)+/, "").trimEnd();
}

/**
 * Code tasks: HumanEval rows (`test` with `check`) or EvoEval rows (`inputs`, expected from `canonical_solution`).
 * `withTests`: the agent gets a run_tests tool over the docstring's examples (several rounds); otherwise it answers
 * at once. `style`: how the answer is asked for (`AnswerStyle`).
 */
export function codeTasks(file: string, withTests = false, style: AnswerStyle = "body"): EvalTask[] {
    return readRows(file).map((row) => {
        const id = field(row, "task_id", file);
        const prompt = field(row, "prompt", file);
        const entryPoint = field(row, "entry_point", file);
        const canonical = field(row, "canonical_solution", file);
        const parents = ["parent", "p1", "p2"].map((k) => row[k]).filter((v): v is string => typeof v === "string");
        const request = codeRequest(prompt, withTests, style);
        const fence = "```python\n";
        const answerPrefix = (withTests ? "" : "ANSWER:\n") + fence + prompt.trimEnd() + "\n";
        const reference = style === "body"
            ? `ANSWER:\n${fence}${canonicalBody(canonical)}\n\`\`\``
            : style === "whole" ? `ANSWER:\n${fence}${prompt.trimEnd()}\n${canonicalBody(canonical)}\n\`\`\``
            : `${answerPrefix}${canonicalBody(canonical)}\n\`\`\``;
        const test = typeof row.test === "string" ? row.test : null;
        const inputs = Array.isArray(row.inputs) ? row.inputs.filter((x): x is string => typeof x === "string") : null;
        if (test == null && inputs == null)
            throw new HindsightError("INVALID_ARGUMENT", `Task ${id} in ${path.basename(file)} has neither "test" nor "inputs".`);
        return {
            id, request, parents, query: prompt.trim(), reference, ...(style === "prefix" ? {answerPrefix} : {}),
            ...(withTests ? {tools: new CodeToolHost(prompt, entryPoint, style === "body" ? "the final body" : "the final function")} : {}),
            async grade(answer: string, responses: readonly string[] = []): Promise<Score> {
                const source = latestWithCode([answer]) ?? latestWithCode(responses) ?? answer;
                const code = candidateProgram(source, prompt, entryPoint);
                const result = test != null
                    ? await gradePython({kind: "tests", code, entryPoint, test})
                    : await gradePython({kind: "io", code, entryPoint, reference: `${prompt}\n${canonical}`, inputs: inputs!});
                return {correct: result.passed, detail: result.passed ? `${result.ok}/${result.total} passed` : result.detail};
            }
        };
    });
}

/** MMLU-Pro rows (the LAG paper's split): question, options (list or its Python literal), answer letter. */
export function mmluProTasks(file: string): EvalTask[] {
    return readRows(file).map((row) => {
        const id = `mmlupro/${field(row, "question_id", file)}`;
        const raw = row.options;
        const options = Array.isArray(raw) ? raw.map(String) : parsePythonStringList(field(row, "options", file));
        const gold = field(row, "answer", file).trim().toUpperCase();
        const letters = "ABCDEFGHIJKLMNOP";
        const question = `Question: ${field(row, "question", file)}\nOptions:\n${options.map((o, i) => `${letters[i]}. ${o}`).join("\n")}`;
        const request = "Answer the multiple-choice question. Think step by step in a few short sentences, then write " +
            "\"ANSWER: X\" where X is the letter of the correct option.\n\n" + question;
        return {
            id, request, parents: [], query: question,
            grade(answer: string): Promise<Score> {
                const letter = choiceLetter(answer, options.length);
                return Promise.resolve({correct: letter === gold, detail: `${letter ?? "-"} (gold ${gold})`});
            }
        };
    });
}

/** 2WikiMultiHopQA rows: open questions graded by exact match and F1 against `answer`. */
export function twoWikiTasks(file: string, keep: (row: Row) => boolean = () => true): EvalTask[] {
    return readRows(file).filter(keep).map((row) => {
        const gold = field(row, "answer", file);
        const question = field(row, "question", file);
        const request = "Answer the question. Use the search tool to find the facts you need " +
            "(ACTION: search <words>), then write \"ANSWER: \" followed by a short answer only.\n\n" +
            `Question: ${question}`;
        return {
            id: `2wiki/${field(row, "_id", file)}`, request, parents: [], query: question,
            grade(answer: string): Promise<Score> {
                const short = answer.split("\n")[0]!.trim();
                return Promise.resolve({correct: exactMatch(short, gold), f1: f1Score(short, gold), detail: `${short.slice(0, 80)} (gold ${gold})`});
            }
        };
    });
}

/** Titles of the 2Wiki supporting paragraphs a question needs. */
export function supportingTitles(row: Row): string[] {
    const facts = row.supporting_facts;
    return Array.isArray(facts) ? facts.map((f) => Array.isArray(f) ? String(f[0]) : "").filter((t) => t !== "") : [];
}

/** Deterministic order: the file's order for seed 0, otherwise a seeded shuffle (mulberry32). */
export function seededOrder<T>(items: readonly T[], seed: number): T[] {
    const out = [...items];
    if (seed === 0)
        return out;
    let state = seed >>> 0;
    const random = () => {
        state = (state + 0x6D2B79F5) >>> 0;
        let t = state;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    for (let i = out.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
}
