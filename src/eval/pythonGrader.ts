import {spawn} from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import {findUp} from "./findUp.js";
import {HindsightError} from "../engine/index.js";

/** A candidate program and how to check it. */
export type GradeRequest =
    /** HumanEval style: `test` defines `check(candidate)`; it is called with the entry point. */
    | {kind: "tests", code: string, entryPoint: string, test: string}
    /** EvoEval style: each input is a Python argument list; expected outputs come from running `reference`. */
    | {kind: "io", code: string, entryPoint: string, reference: string, inputs: readonly string[]}
    /** The doctest examples (`>>>` lines) of the task's prompt, run against the candidate: the public checks a run_tests tool may show. */
    | {kind: "examples", code: string, entryPoint: string, prompt: string};

export interface GradeResult {
    passed: boolean;
    /** Checks run and checks passed (a `tests` request counts as one check). */
    total: number;
    ok: number;
    /** Why it failed: "timeout", "error: ...", "wrong answer on input ...". Empty when passed. */
    detail: string;
}

export interface GraderOptions {
    /** Python interpreter. Defaults to `HINDSIGHT_PYTHON` or `python3`. */
    python: string;
    /** Seconds for one call of the candidate. Defaults to 3. */
    callTimeoutS: number;
    /** Seconds for the whole subprocess (then it is killed). Defaults to 30. */
    totalTimeoutS: number;
    /** Longest `detail` returned. Defaults to 300 characters. */
    detailChars: number;
}

/**
 * The Python side, `grader.py`: next to the bundle (dist/grader.py, copied by scripts/build.mjs) or, from compiled
 * sources (out/), in src/eval of the package root. It reads the request as JSON on stdin and prints one JSON line;
 * what its sandbox does and does not do is in its docstring.
 */
export function graderScript(): string {
    const found = findUp(import.meta.url, (dir) => {
        const beside = path.join(dir, "grader.py");
        const inSources = path.join(dir, "src", "eval", "grader.py");
        return fs.existsSync(beside) ? beside : fs.existsSync(path.join(dir, "package.json")) && fs.existsSync(inSources) ? inSources : null;
    });
    if (found == null)
        throw new HindsightError("INTERNAL", "grader.py was not found next to the CLI or in src/eval; rebuild with `npm run build`.");
    return found;
}

/** Runs a candidate against its checks in a Python subprocess with time limits and no network. */
export async function gradePython(request: GradeRequest, options: Partial<GraderOptions> = {}): Promise<GradeResult> {
    const python = options.python ?? process.env.HINDSIGHT_PYTHON ?? "python3";
    const callTimeoutS = options.callTimeoutS ?? 3;
    const totalTimeoutS = options.totalTimeoutS ?? 30;
    const child = spawn(python, ["-I", "-S", graderScript()], {stdio: ["pipe", "pipe", "pipe"], env: {PATH: process.env.PATH ?? ""}});
    let stdout = "", stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => { stdout += d; });
    child.stderr.setEncoding("utf8").on("data", (d: string) => { stderr = (stderr + d).slice(-2000); });
    const timer = setTimeout(() => child.kill("SIGKILL"), totalTimeoutS * 1000);
    const exit = new Promise<number | null>((resolve, reject) => {
        child.once("error", (err) => reject(new HindsightError("INVALID_ARGUMENT", `Cannot run ${python} to grade code (${err.message}). Install Python 3 or set HINDSIGHT_PYTHON.`)));
        child.once("close", (code) => resolve(code));
    });
    child.stdin.on("error", () => undefined);
    child.stdin.end(JSON.stringify({...request, callTimeoutS, detailChars: options.detailChars ?? 300}));
    try {
        await exit;
    } finally {
        clearTimeout(timer);
    }
    const line = stdout.trim().split("\n").pop() ?? "";
    try {
        const parsed = JSON.parse(line) as GradeResult;
        return {passed: parsed.passed === true, total: parsed.total, ok: parsed.ok, detail: parsed.detail};
    } catch {
        return {passed: false, total: 1, ok: 0, detail: line === "" ? (child.killed ? "timeout" : `error: grader crashed ${stderr.slice(-200)}`) : `error: ${line.slice(0, 200)}`};
    }
}

const codeFence = /```[a-zA-Z0-9]*\n[\s\S]*?(?:```|$)/;

/** The latest of `texts` that holds a fenced code block (an unclosed one counts: generation may stop inside it). */
export function latestWithCode(texts: readonly string[]): string | undefined {
    return [...texts].reverse().find((t) => codeFence.test(t));
}

/**
 * The program to grade from a model's answer: the first fenced code block (or the whole answer). If it does not
 * define the entry point, it is taken as the body and appended to the task's prompt; otherwise it follows the whole
 * prompt (whose imports and helper functions it may use; its own definition replaces the prompt's stub).
 */
export function candidateProgram(answer: string, taskPrompt: string, entryPoint: string): string {
    const blocks = [...answer.matchAll(/```[a-zA-Z0-9]*\n([\s\S]*?)(?:```|$)/g)].map((m) => m[1]!);
    const withDef = blocks.find((b) => new RegExp(`def\\s+${entryPoint}\\s*\\(`).test(b));
    // a tool call the model wrote inside its code block ("ACTION: run_tests") is not code
    const code = (withDef ?? blocks[0] ?? answer).split("\n").filter((l) => !/^\s*(?:#\s*)?ACTION:/.test(l)).join("\n");
    if (new RegExp(`def\\s+${entryPoint}\\s*\\(`).test(code))
        return `${taskPrompt}\n\n${code}`;
    // a body: re-indented as a block (its common indentation removed, then four spaces), so that nested lines keep
    // their depth whether the model wrote the body flush left or indented
    const lines = code.trimEnd().split("\n");
    const indents = lines.filter((l) => l.trim() !== "").map((l) => /^[ \t]*/.exec(l)![0].length);
    const common = indents.length === 0 ? 0 : Math.min(...indents);
    const body = lines.map((l) => (l.trim() === "" ? "" : "    " + l.slice(common))).join("\n");
    return `${taskPrompt.trimEnd()}\n${body}\n`;
}
