import assert from "node:assert/strict";
import {candidateProgram, gradePython, graderScript} from "../../src/eval/pythonGrader.js";
import {spawnSync} from "node:child_process";
import fs from "node:fs";
import {fileURLToPath} from "node:url";
import {choiceLetter, exactMatch, f1Score, meanInterval, parsePythonStringList, wilson} from "../../src/eval/metrics.js";
import {codeTasks, mmluProTasks} from "../../src/eval/datasets.js";
import {shippedDataDir} from "../../src/eval/suites.js";
import path from "node:path";

const reference = "def add_up(xs):\n    return sum(xs)\n";
const inputs = ["[1, 2, 3]", "[]", "[-5, 5, 10]"];

describe("eval grading (Python subprocess)", function () {
    it("a right solution passes every input", async function () {
        const r = await gradePython({kind: "io", code: "def add_up(xs):\n    t = 0\n    for x in xs: t += x\n    return t\n", entryPoint: "add_up", reference, inputs});
        assert.deepEqual(r, {passed: true, total: 3, ok: 3, detail: ""});
    });

    it("a wrong solution fails and names the input", async function () {
        const r = await gradePython({kind: "io", code: "def add_up(xs):\n    return len(xs)\n", entryPoint: "add_up", reference, inputs});
        assert.equal(r.passed, false);
        assert.match(r.detail, /wrong answer on input \[1, 2, 3\]/);
    });

    it("an infinite loop fails by timeout", async function () {
        const started = Date.now();
        const r = await gradePython({kind: "io", code: "def add_up(xs):\n    while True:\n        pass\n", entryPoint: "add_up", reference, inputs}, {callTimeoutS: 1});
        assert.equal(r.passed, false);
        assert.match(r.detail, /timeout/);
        assert.ok(Date.now() - started < 15_000);
    });

    it("an exception fails and says which", async function () {
        const r = await gradePython({kind: "io", code: "def add_up(xs):\n    raise ValueError('nope')\n", entryPoint: "add_up", reference, inputs});
        assert.equal(r.passed, false);
        assert.match(r.detail, /ValueError: nope/);
    });

    it("a candidate cannot open a network connection", async function () {
        const code = "import socket\ndef add_up(xs):\n    socket.create_connection(('127.0.0.1', 9))\n    return sum(xs)\n";
        const r = await gradePython({kind: "io", code, entryPoint: "add_up", reference, inputs});
        assert.equal(r.passed, false);
        assert.match(r.detail, /network and processes are disabled/);
    });

    it("HumanEval-style check(): canonical passes, a wrong body fails", async function () {
        const test = "def check(candidate):\n    assert candidate([1, 2]) == 3\n    assert candidate([]) == 0\n";
        assert.equal((await gradePython({kind: "tests", code: reference, entryPoint: "add_up", test})).passed, true);
        assert.equal((await gradePython({kind: "tests", code: "def add_up(xs):\n    return 3\n", entryPoint: "add_up", test})).passed, false);
    });

    it("the shipped tasks: canonical solutions pass, through the answer extraction", async function () {
        const d = shippedDataDir();
        for (const file of ["humaneval/HumanEval.jsonl.gz", "evoeval/EvoEval_difficult.jsonl.gz"]) {
            const tasks = codeTasks(path.join(d, file)).slice(0, 3);
            const {readRows} = await import("../../src/eval/datasets.js");
            const rows = readRows(path.join(d, file)).slice(0, 3);
            for (const [i, task] of tasks.entries()) {
                const row = rows[i]!;
                const answer = "Here it is.\nANSWER:\n```python\n" + String(row.prompt) + "\n" + String(row.canonical_solution) + "\n```";
                const score = await task.grade(answer);
                assert.equal(score.correct, true, `${task.id}: ${score.detail}`);
                assert.equal((await task.grade("```python\ndef nothing():\n    pass\n```")).correct, false);
            }
        }
    });

    it("a body-only answer is appended to the prompt", function () {
        const program = candidateProgram("```python\nreturn sum(xs)\n```", "def add_up(xs):\n    \"\"\"Sum.\"\"\"\n", "add_up");
        assert.equal(program, "def add_up(xs):\n    \"\"\"Sum.\"\"\"\n    return sum(xs)\n");
        // nested lines keep their depth, flush left or indented
        const nested = "def f(xs):\n    \"\"\"Doc.\"\"\"\n    for x in xs:\n        if x:\n            return x\n    return None\n";
        for (const body of ["for x in xs:\n    if x:\n        return x\nreturn None", "    for x in xs:\n        if x:\n            return x\n    return None"])
            assert.equal(candidateProgram("```python\n" + body + "\n```", "def f(xs):\n    \"\"\"Doc.\"\"\"\n", "f"), nested);
    });
});

describe("eval grader.py (Python)", function () {
    const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

    it("compiles with warnings as errors and passes its Python unit tests", function () {
        this.timeout(120_000);
        const python = process.env.HINDSIGHT_PYTHON ?? "python3";
        const compiled = spawnSync(python, ["-W", "error", "-c", "import sys, py_compile; [py_compile.compile(f, doraise=True) for f in sys.argv[1:]]",
            "src/eval/grader.py", "test/eval/test_grader.py"], {cwd: root, encoding: "utf8"});
        assert.equal(compiled.status, 0, compiled.stderr);
        const tests = spawnSync(python, ["-m", "unittest", "discover", "-s", "test/eval", "-p", "test_*.py"], {cwd: root, encoding: "utf8"});
        assert.equal(tests.status, 0, tests.stderr);
        assert.match(tests.stderr, /Ran [1-9]\d* tests[\s\S]*OK/);
    });

    it("is found from compiled sources (src/eval) and ships next to the CLI bundle (dist/grader.py)", function () {
        assert.equal(graderScript(), path.join(root, "src", "eval", "grader.py"));
        const bundled = path.join(root, "dist", "grader.py");
        assert.ok(fs.existsSync(bundled), "npm run build copies it next to dist/cli.js");
        assert.equal(fs.readFileSync(bundled, "utf8"), fs.readFileSync(graderScript(), "utf8"));
    });
});

describe("eval run_tests tool (docstring examples)", function () {
    const prompt = "def add_up(xs):\n    \"\"\"Sum of xs.\n    >>> add_up([1, 2, 3])\n    6\n    >>> add_up([])\n    0\n    \"\"\"\n";

    it("runs the prompt's examples against the candidate: a right one passes, a wrong one shows expected and got", async function () {
        const right = await gradePython({kind: "examples", code: prompt + "def add_up(xs):\n    return sum(xs)\n", entryPoint: "add_up", prompt});
        assert.deepEqual(right, {passed: true, total: 2, ok: 2, detail: ""});
        const wrong = await gradePython({kind: "examples", code: prompt + "def add_up(xs):\n    return len(xs)\n", entryPoint: "add_up", prompt}, {detailChars: 1000});
        assert.deepEqual([wrong.passed, wrong.total, wrong.ok], [false, 2, 1]);
        assert.match(wrong.detail, /add_up\(\[1, 2, 3\]\)[\s\S]*Expected:\s+6[\s\S]*Got:\s+3/);
    });

    it("an example that loops forever fails by timeout; the others still run", async function () {
        const code = prompt + "def add_up(xs):\n    while xs:\n        pass\n    return 0\n";
        const r = await gradePython({kind: "examples", code, entryPoint: "add_up", prompt}, {callTimeoutS: 1, detailChars: 1000});
        assert.deepEqual([r.passed, r.total, r.ok], [false, 2, 1]);
        assert.match(r.detail, /Timeout/);
    });

    it("CodeToolHost: takes the latest code the model wrote, and says what failed or that all passed", async function () {
        const {CodeToolHost} = await import("../../src/eval/CodeToolHost.js");
        const host = new CodeToolHost(prompt, "add_up");
        const wrong = "```python\ndef add_up(xs):\n    return len(xs)\n```\nACTION: run_tests";
        const right = "```python\ndef add_up(xs):\n    return sum(xs)\n```\nACTION: run_tests";
        assert.match(await host.runTests([wrong]), /^1 of 2 examples failed:\n[\s\S]*Expected:/);
        assert.match(await host.runTests([wrong, right]), /^All 2 examples passed\. Write ANSWER:/);
        assert.match(await host.runTests([right, "ACTION: run_tests"]), /^All 2 examples passed\. Write ANSWER:/);
        // the call written inside an unclosed block, where generation stopped
        assert.match(await host.runTests(["```python\ndef add_up(xs):\n    return sum(xs)\n\nACTION: run_tests\n"]), /^All 2 examples passed\. Write ANSWER:/);
        assert.match(await host.runTests(["ACTION: run_tests"]), /no code to test/);
        assert.match(await host.runTests(["```python\ndef add_up(xs) return 1\n```"]), /does not run: error: SyntaxError/);
        assert.match(await new CodeToolHost("def g():\n    pass\n", "g").runTests(["```python\ndef g():\n    return 1\n```"]), /no examples/);
    });

    it("CodeToolHost.verify: null for an answer that passes (or has no code or no examples), what failed otherwise", async function () {
        const {CodeToolHost} = await import("../../src/eval/CodeToolHost.js");
        const host = new CodeToolHost(prompt, "add_up");
        assert.equal(await host.verify(["ANSWER:\n```python\ndef add_up(xs):\n    return sum(xs)\n```"]), null);
        assert.match((await host.verify(["ANSWER:\n```python\ndef add_up(xs):\n    return len(xs)\n```"]))!, /^1 of 2 examples failed:\n[\s\S]*Expected:/);
        assert.match((await host.verify(["```python\ndef add_up(xs) return 1\n```"]))!, /does not run/);
        assert.equal(await host.verify(["I do not know."]), null);
        assert.equal(await new CodeToolHost("def g():\n    pass\n", "g").verify(["```python\ndef g():\n    return 1\n```"]), null);
    });

    it("a code task offers run_tests when it has rounds to use it, grades the last code written when the answer has none", async function () {
        const d = shippedDataDir();
        const [withTests] = codeTasks(path.join(d, "humaneval/HumanEval.jsonl.gz"), true);
        const [oneShot] = codeTasks(path.join(d, "humaneval/HumanEval.jsonl.gz"));
        assert.ok(withTests!.tools?.runTests != null && oneShot!.tools == null);
        assert.match(withTests!.request, /ACTION: run_tests/);
        assert.doesNotMatch(oneShot!.request, /run_tests/);
        assert.ok(!withTests!.query.includes("Complete the following") && withTests!.query.includes("def has_close_elements"));
        const {readRows} = await import("../../src/eval/datasets.js");
        const row = readRows(path.join(d, "humaneval/HumanEval.jsonl.gz"))[0]!;
        const code = "```python\n" + String(row.prompt) + String(row.canonical_solution) + "\n```\nACTION: run_tests";
        assert.equal((await withTests!.grade("The examples pass.", [code, "ANSWER: The examples pass."])).correct, true);
        assert.equal((await withTests!.grade("The examples pass.", [])).correct, false);
    });
});

describe("eval metrics", function () {
    it("exact match and F1 on known pairs (SQuAD normalization)", function () {
        assert.equal(exactMatch("The Eiffel Tower.", "eiffel tower"), true);
        assert.equal(exactMatch("Paris, France", "Paris"), false);
        assert.equal(f1Score("Paris, France", "Paris"), 2 * (0.5 * 1) / 1.5);
        assert.equal(f1Score("John Smith", "Smith John"), 1);
        assert.equal(f1Score("no", "yes"), 0);
        assert.equal(f1Score("a the", "an"), 1);
    });

    it("option letters from answers", function () {
        assert.equal(choiceLetter("Because of X. ANSWER: C", 10), "C");
        assert.equal(choiceLetter("The answer is (J)", 10), "J");
        assert.equal(choiceLetter("B. Enhancers bind", 10), "B");
        assert.equal(choiceLetter("no idea", 4), null);
    });

    it("Wilson and normal intervals", function () {
        const w = wilson(5, 10);
        assert.ok(Math.abs(w.low - 0.2366) < 1e-3 && Math.abs(w.high - 0.7634) < 1e-3);
        assert.deepEqual([wilson(0, 10).low, wilson(10, 10).high], [0, 1]);
        const m = meanInterval([1, 2, 3]);
        assert.equal(m.value, 2);
        assert.ok(Math.abs(m.high - m.low - 2 * 1.96 / Math.sqrt(3)) < 1e-9);
    });

    it("MMLU-Pro options stored as a Python list literal", function () {
        assert.deepEqual(parsePythonStringList(`['a', "b's", 'c\\'d']`), ["a", "b's", "c'd"]);
        const tasks = mmluProTasks(path.join(shippedDataDir(), "mmlupro/dev_test.json.gz"));
        assert.equal(tasks.length, 150);
        assert.match(tasks[0]!.request, /\nA\. .+\nB\. /);
    });
});

describe("eval suites", function () {
    it("2Wiki: the covered subset and an open-book search over the corpus", async function () {
        const {loadSuite} = await import("../../src/eval/suites.js");
        const suite = loadSuite("2wiki", {seed: 0, limit: 5, logLimit: 3});
        assert.deepEqual([suite.testTasks.length, suite.logTasks.length, suite.maxRounds], [5, 3, 8]);
        assert.ok(suite.tools != null);
        const hits = await suite.tools.search("Teutberga queen of Lotharingia");
        assert.match(hits.split("\n\n")[0]!, /^Teutberga: /);
        assert.match(await suite.tools.readFile("x"), /no files/);
    });

    it("code: phase 1 holds the parents of the chosen tasks", async function () {
        const {loadSuite} = await import("../../src/eval/suites.js");
        const suite = loadSuite("code", {seed: 1, limit: 4});
        const parents = new Set(suite.testTasks.flatMap((t) => t.parents));
        assert.deepEqual(new Set(suite.logTasks.map((t) => t.id)), parents);
    });

    it("code: a subset draws N of the tasks --limit leaves, by its seed, in their order; phase 1 holds their parents", async function () {
        const {loadSuite, evoEvalFiles} = await import("../../src/eval/suites.js");
        const data = evoEvalFiles(["concise"]);
        const all = loadSuite("code", {seed: 0, limit: 100, data}).testTasks.map((t) => t.id);
        const draw = (seed: number) => loadSuite("code", {seed: 0, limit: 100, data, subset: {n: 20, seed}});
        const a = draw(1);
        const ids = a.testTasks.map((t) => t.id);
        assert.equal(ids.length, 20);
        assert.ok(ids.every((id) => all.includes(id)), "only tasks the limit leaves");
        assert.deepEqual(ids, all.filter((id) => ids.includes(id)), "in the run's order");
        assert.notDeepEqual(ids, all.slice(0, 20), "a draw, not the first 20");
        assert.deepEqual(draw(1).testTasks.map((t) => t.id), ids, "the same seed draws the same tasks");
        assert.notDeepEqual(draw(2).testTasks.map((t) => t.id), ids);
        const fewer = loadSuite("code", {seed: 0, limit: 100, data, subset: {n: 12, seed: 1}}).testTasks.map((t) => t.id);
        assert.ok(fewer.length === 12 && fewer.every((id) => ids.includes(id)), "a larger N keeps a smaller one's tasks");
        assert.deepEqual(new Set(a.logTasks.map((t) => t.id)), new Set(a.testTasks.flatMap((t) => t.parents)));
    });

    it("code: task ids name their set, so they stay unique across files that number their tasks alike", async function () {
        const {loadSuite} = await import("../../src/eval/suites.js");
        const tasks = loadSuite("code", {seed: 0}).testTasks;
        const ids = tasks.map((t) => t.id);
        assert.equal(ids.length, 200);
        assert.equal(new Set(ids).size, 200);
        assert.ok(ids.includes("EvoEval_difficult:EvoEval/36") && ids.includes("EvoEval_creative:EvoEval/36"));
        assert.deepEqual([...new Set(tasks.map((t) => t.set))], ["EvoEval_difficult", "EvoEval_creative"]);
    });

    it("code: every EvoEval set ships; same-id variants (verbose, concise) get the HumanEval task of their id as parent", async function () {
        const {loadSuite, evoEvalFiles, evoEvalSets} = await import("../../src/eval/suites.js");
        const files = evoEvalFiles(evoEvalSets);
        const suite = loadSuite("code", {seed: 0, data: files});
        const bySet = new Map<string, number>();
        for (const t of suite.testTasks)
            bySet.set(t.set!, (bySet.get(t.set!) ?? 0) + 1);
        assert.deepEqual([...bySet], [["EvoEval_difficult", 100], ["EvoEval_creative", 100], ["EvoEval_tool_use", 100], ["EvoEval_verbose", 164], ["EvoEval_concise", 164]]);
        const concise = suite.testTasks.find((t) => t.id === "EvoEval_concise:HumanEval/13")!;
        assert.deepEqual(concise.parents, ["HumanEval/13"]);
        assert.ok(suite.testTasks.every((t) => t.parents.length > 0), "every task has a parent");
        // phase 1 holds every parent once: the 164 HumanEval tasks
        assert.equal(suite.logTasks.length, 164);
        assert.equal(new Set(suite.logTasks.map((t) => t.id)).size, 164);
        const only = loadSuite("code", {seed: 1, limit: 3, data: evoEvalFiles(["verbose"])});
        assert.deepEqual(only.logTasks.map((t) => t.id).sort(), only.testTasks.map((t) => t.id.replace("EvoEval_verbose:", "")).sort());
        assert.throws(() => evoEvalFiles(["hard"]), /Unknown EvoEval set/);
        // the shipped sets' canonical solutions pass their own grading (concise: HumanEval's check)
        for (const t of [concise, suite.testTasks.find((x) => x.set === "EvoEval_tool_use")!])
            assert.equal((await t.grade(t.reference!)).correct, true, t.id);
    });
});

describe("eval answers that fit", function () {
    it("body style: the request gives the signature and asks for the body; a flush-left or indented body both grade", async function () {
        const d = shippedDataDir();
        const [task] = codeTasks(path.join(d, "humaneval/HumanEval.jsonl.gz"));
        assert.match(task!.request, /only the body of the function/);
        assert.match(task!.request, /def has_close_elements\(numbers: List\[float\], threshold: float\) -> bool:/);
        const flush = "ANSWER:\n```python\nfor i, a in enumerate(numbers):\n    for b in numbers[i + 1:]:\n        if abs(a - b) < threshold:\n            return True\nreturn False\n```";
        const indented = flush.replace(/\n(?!```)(?=.)/g, "\n    ").replace("\n    ```python", "\n```python");
        assert.equal((await task!.grade(flush)).correct, true);
        assert.equal((await task!.grade(indented)).correct, true, indented);
        assert.equal((await task!.grade(task!.reference!)).correct, true);
        // the run_tests observation asks for what the request asked for
        const [withTests] = codeTasks(path.join(d, "humaneval/HumanEval.jsonl.gz"), true);
        assert.match(withTests!.request, /write ANSWER: and the final body/);
        assert.match(await withTests!.tools!.runTests!(["```python\n" + task!.reference!.split("```python\n")[1]!.replace(/```$/, "") + "```"]), /passed\. Write ANSWER: and the final body/);
        const [prefixed] = codeTasks(path.join(d, "humaneval/HumanEval.jsonl.gz"), false, "prefix");
        assert.ok(prefixed!.answerPrefix!.startsWith("ANSWER:\n```python\nfrom typing import List"));
        assert.ok(prefixed!.reference!.startsWith(prefixed!.answerPrefix!));
        assert.equal((await prefixed!.grade(prefixed!.reference!)).correct, true);
    });
});
