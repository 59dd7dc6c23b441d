import {spawn} from "node:child_process";
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
 * The Python side. It reads the request as JSON on stdin, blocks sockets and subprocesses, caps memory, runs every
 * check with an alarm, and prints one JSON line. Expected outputs are computed by the reference solution in its own
 * namespace, on a deep copy of the arguments (candidates may mutate them).
 */
const graderSource = String.raw`
import sys, json, copy, math, signal, resource, socket, builtins
req = json.loads(sys.stdin.read())
try:
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
except Exception:
    pass
def _blocked(*a, **k):
    raise OSError("network and processes are disabled in the grader")
socket.socket = _blocked
socket.create_connection = _blocked
import os, subprocess
os.system = _blocked
subprocess.Popen = _blocked
class Timeout(Exception):
    pass
def _alarm(*a):
    raise Timeout()
signal.signal(signal.SIGALRM, _alarm)
limit = float(req["callTimeoutS"])
def timed(fn, *args):
    signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        return fn(*args)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
def same(a, b):
    if isinstance(a, float) or isinstance(b, float):
        try:
            return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9) or (a != a and b != b)
        except TypeError:
            return False
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return type(a) == type(b) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return type(a) == type(b) and a == b
def out(passed, total, ok, detail):
    print(json.dumps({"passed": passed, "total": total, "ok": ok, "detail": detail[:int(req.get("detailChars", 300))]}))
    sys.stdout.flush()
    os._exit(0)
def load(code, name):
    ns = {"__name__": "__candidate__"}
    timed(exec, compile(code, name, "exec"), ns)
    return ns
try:
    cand = load(req["code"], "<candidate>")
    fn = cand.get(req["entryPoint"])
    if not callable(fn):
        out(False, 1, 0, "error: no function " + req["entryPoint"])
except Timeout:
    out(False, 1, 0, "timeout")
except BaseException as e:
    out(False, 1, 0, "error: " + type(e).__name__ + ": " + str(e))
if req["kind"] == "tests":
    try:
        timed(exec, compile(req["test"], "<test>", "exec"), cand)
        timed(cand["check"], fn)
        out(True, 1, 1, "")
    except Timeout:
        out(False, 1, 0, "timeout")
    except BaseException as e:
        out(False, 1, 0, "error: " + type(e).__name__ + ": " + str(e))
if req["kind"] == "examples":
    import doctest
    import ast
    docs = []
    try:
        for node in ast.walk(ast.parse(req["prompt"])):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == req["entryPoint"]:
                docs.append(ast.get_docstring(node) or "")
    except SyntaxError:
        pass
    examples = doctest.DocTestParser().get_examples(docs[0] if docs else req["prompt"])
    if not examples:
        out(True, 0, 0, "")
    report = []
    runner = doctest.DocTestRunner(verbose=False, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    # a repeating alarm: every example that runs too long raises Timeout, which doctest reports as its failure
    signal.setitimer(signal.ITIMER_REAL, limit, limit)
    try:
        failed, tried = runner.run(doctest.DocTest(examples, cand, "examples", None, 0, None), out=report.append, clear_globs=False)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    lines = [l for l in "".join(report).splitlines() if l.strip() and not l.startswith("*****") and not l.startswith("File ")]
    out(failed == 0, tried, tried - failed, "\n".join(lines))
ref = load(req["reference"], "<reference>")[req["entryPoint"]]
total = ok = 0
for text in req["inputs"]:
    try:
        args = eval("(" + text + ",)", {}) if text.strip() else ()
        expected = timed(ref, *copy.deepcopy(args))
    except BaseException:
        continue
    total += 1
    try:
        got = timed(fn, *copy.deepcopy(args))
    except Timeout:
        out(False, total, ok, "timeout on input " + text[:80])
    except BaseException as e:
        out(False, total, ok, "error on input " + text[:80] + ": " + type(e).__name__ + ": " + str(e))
    if not same(got, expected):
        out(False, total, ok, "wrong answer on input " + text[:80])
    ok += 1
out(total > 0, total, ok, "" if total > 0 else "error: no usable inputs")
`;

/** Runs a candidate against its checks in a Python subprocess with time limits and no network. */
export async function gradePython(request: GradeRequest, options: Partial<GraderOptions> = {}): Promise<GradeResult> {
    const python = options.python ?? process.env.HINDSIGHT_PYTHON ?? "python3";
    const callTimeoutS = options.callTimeoutS ?? 3;
    const totalTimeoutS = options.totalTimeoutS ?? 30;
    const child = spawn(python, ["-I", "-S", "-c", graderSource], {stdio: ["pipe", "pipe", "pipe"], env: {PATH: process.env.PATH ?? ""}});
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
    const body = code.split("\n").map((l) => (l.trim() === "" || /^\s/.test(l) ? l : "    " + l)).join("\n");
    return `${taskPrompt}\n${body}`;
}
