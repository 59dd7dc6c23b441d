import assert from "node:assert/strict";
import {actionComplete, extractAnswer, keepWrittenCode, nextQuery, parseAction, repeatsOnlyRequest, runTool, systemPrompt} from "../../src/engine/agent/react.js";
import {offeredTools, type ToolHost, type ToolName} from "../../src/engine/agent/ToolHost.js";

/** A host at the unit's own boundary: it records what the agent asked for. */
class RecordingHost implements ToolHost {
    public readonly calls: string[] = [];
    public constructor(public readonly tools?: readonly ToolName[], withTests = false) {
        if (withTests)
            this.runTests = (responses: readonly string[]) => {
                this.calls.push(`run_tests ${responses.length}`);
                return Promise.resolve("All 2 examples passed.");
            };
    }
    public runTests?: (responses: readonly string[]) => Promise<string>;
    public listFiles(dir: string): Promise<string> { this.calls.push(`list_files ${dir}`); return Promise.resolve("a.py"); }
    public readFile(file: string): Promise<string> { this.calls.push(`read_file ${file}`); return Promise.resolve("x = 1"); }
    public search(query: string): Promise<string> { this.calls.push(`search ${query}`); return Promise.resolve("a.py:1: x"); }
}

describe("agent protocol (ReAct tools)", function () {
    it("a host offers the workspace tools by default, run_tests only when it can run tests", function () {
        assert.deepEqual(offeredTools(new RecordingHost()), ["list_files", "read_file", "search"]);
        assert.deepEqual(offeredTools(new RecordingHost(["run_tests"])), []);
        assert.deepEqual(offeredTools(new RecordingHost(["run_tests"], true)), ["run_tests"]);
    });

    it("the system prompt lists exactly the offered tools", function () {
        const tests = systemPrompt({tools: ["run_tests"]});
        assert.match(tests, /ACTION: run_tests/);
        assert.doesNotMatch(tests, /read_file|list_files/);
        const workspace = systemPrompt({tools: ["list_files", "read_file", "search"]});
        assert.match(workspace, /ACTION: read_file/);
        assert.doesNotMatch(workspace, /run_tests/);
        assert.doesNotMatch(systemPrompt({tools: []}), /ACTION:/);
    });

    it("run_tests is parsed as an action, and an answer written before it wins", function () {
        const response = "```python\ndef f():\n    return 1\n```\nACTION: run_tests\n";
        assert.deepEqual(parseAction(response), {tool: "run_tests", argument: ""});
        assert.equal(actionComplete(response), true);
        assert.equal(parseAction("ANSWER:\n```python\ndef f(): pass\n```\nACTION: run_tests\n"), null);
        assert.deepEqual(parseAction("```python\ndef f():\n    return 1\n# ACTION: run_tests\n"), {tool: "run_tests", argument: ""});
        assert.equal(parseAction("```python\n# NO ACTION: run_tests\n```"), null);
    });

    it("a tool the host does not offer is refused with the ones it does; run_tests gets every response so far", async function () {
        const host = new RecordingHost(["run_tests"], true);
        const refused = await runTool(host, {tool: "read_file", argument: "a.py"}, ["r1"]);
        assert.match(refused, /read_file is not available here\. Use run_tests/);
        assert.equal(await runTool(host, {tool: "run_tests", argument: ""}, ["r1", "r2"]), "All 2 examples passed.");
        assert.deepEqual(host.calls, ["run_tests 2"]);
        const workspace = new RecordingHost();
        assert.match(await runTool(workspace, {tool: "run_tests", argument: ""}, ["r1"]), /not available here\. Use list_files, read_file, search/);
        assert.equal(await runTool(workspace, {tool: "search", argument: "x"}, []), "a.py:1: x");
        assert.deepEqual(workspace.calls, ["search x"]);
    });

    it("the answer is what follows ANSWER:, or what precedes a bare ANSWER: at the end, or the whole response", function () {
        assert.equal(extractAnswer("Thought: easy.\nANSWER: 42"), "42");
        const code = "```python\n    return a + b\n```";
        assert.equal(extractAnswer(`${code}\n\nANSWER:`), code);
        assert.equal(extractAnswer(`${code}\n\nANSWER:  \n`), code);
        assert.equal(extractAnswer(code), code);
        assert.equal(extractAnswer("ANSWER:"), "");
    });

    it("a final answer that only repeats the request's stub keeps the code an earlier round wrote", function () {
        const request = "Complete the function.\n```python\ndef double(x):\n    \"\"\"Twice x.\n    >>> double(2)\n    4\n    \"\"\"\n```";
        const stub = "```python\ndef double(x):\n    \"\"\"Twice x.\n    >>> double(2)\n    4\n    \"\"\"\n```";
        // the first round: the code, a tool call written into the unclosed block (as the model does)
        const first = "```python\ndef double(x):\n    \"\"\"Twice x.\n    \"\"\"\n    return 2 * x\n\n# ACTION: run_tests";
        const kept = keepWrittenCode(`Here it is:\n${stub}\nDone.`, [first], request);
        assert.equal(kept, "Here it is:\n```python\ndef double(x):\n    \"\"\"Twice x.\n    \"\"\"\n    return 2 * x\n```\nDone.");
        // the latest earlier code wins; a response with only the stub is passed over
        const second = "```python\ndef double(x):\n    return x + x\n```\nACTION: run_tests";
        assert.equal(keepWrittenCode(stub, [first, second, stub], request), "```python\ndef double(x):\n    return x + x\n```");
        // answers with code of their own, without code, or with no earlier code are left as they are
        const own = "```python\ndef double(x):\n    return x * 2\n```";
        assert.equal(keepWrittenCode(own, [first], request), own);
        assert.equal(keepWrittenCode("The code above passed.", [first], request), "The code above passed.");
        assert.equal(keepWrittenCode(stub, ["ACTION: run_tests", stub], request), stub);
        assert.equal(keepWrittenCode(stub, [first], "Write double."), stub, "the stub is the model's own when the request did not give it");
    });

    it("an answer whose code only repeats the request's code is told apart from one that adds code or has none", function () {
        const request = "Complete the function.\n```python\ndef double(x):\n    \"\"\"Twice x.\"\"\"\n```";
        assert.equal(repeatsOnlyRequest("```python\ndef double(x):\n    \"\"\"Twice x.\"\"\"\n```", request), true);
        assert.equal(repeatsOnlyRequest("Here:\n```python\n  def double(x):\n\n# ACTION: run_tests\n```", request), true, "indentation, blanks and tool calls say nothing");
        assert.equal(repeatsOnlyRequest("```python\ndef double(x):\n    return 2 * x\n```", request), false);
        // only the last block counts: a stub after the code is still a stub
        assert.equal(repeatsOnlyRequest("```python\nreturn 2 * x\n```\n```python\ndef double(x):\n```", request), true);
        assert.equal(repeatsOnlyRequest("It doubles x.", request), false);
        assert.equal(repeatsOnlyRequest("```python\ndef double(x):\n```", "Write double."), false);
    });

    it("later rounds retrieve with the words of a search, otherwise with the whole response", function () {
        const response = "I need the capital.\nACTION: search capital of Lotharingia\n";
        assert.equal(nextQuery(parseAction(response)!, response), "capital of Lotharingia");
        const tests = "```python\ndef f():\n    return 1\n```\nACTION: run_tests\n";
        assert.equal(nextQuery(parseAction(tests)!, tests), tests);
        assert.equal(nextQuery({tool: "search", argument: ""}, "whole"), "whole");
    });
});
