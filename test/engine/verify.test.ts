import assert from "node:assert/strict";
import type {AskEvent} from "../../src/engine/session/types.js";
import type {ToolHost} from "../../src/engine/agent/ToolHost.js";
import {engineFixture, loadTinyExactModel} from "../support/engineFixture.js";

/** A host whose checks fail the first `failures` answers (the boundary `ask` talks to; the real one is CodeToolHost). */
function checkingHost(failures: number): ToolHost & {checked: number} {
    return {
        tools: ["run_tests"], checked: 0,
        listFiles: async () => "", readFile: async () => "", search: async () => "",
        runTests: async () => "All 1 examples passed.",
        async verify() {
            this.checked++;
            return this.checked <= failures ? "1 of 1 examples failed:\nExpected: 6\nGot: 3" : null;
        }
    };
}

describe("ask with verify: an answer is checked before it is given @model", function () {
    this.timeout(120_000);
    const f = engineFixture("hs-verify-", () => loadTinyExactModel({contextSize: 1024}));
    const ask = (tools: ToolHost, verify: boolean, maxRounds: number, events: AskEvent[] = []) => f.engine.ask("Write add_up(xs).", {
        workspace: "ws", mode: "none", maxRounds, maxTokensPerRound: 6, log: false, tools, verify, onEvent: (e) => events.push(e)
    });

    it("a failing answer goes back with what failed; the next one that passes is the answer", async function () {
        const host = checkingHost(1);
        const events: AskEvent[] = [];
        const r = await ask(host, true, 3, events);
        assert.equal(r.rounds, 2);
        assert.equal(host.checked, 2);
        assert.deepEqual(events.filter((e) => e.type === "verify"), [{type: "verify", round: 1, passed: false}]);
        const once = await ask(checkingHost(0), true, 3);
        assert.ok(r.tokens.prompt > once.tokens.prompt, "the second round's prompt holds the observation");
    });

    it("the last round's answer is given unchecked; without verify nothing is checked", async function () {
        const always = checkingHost(99);
        const r = await ask(always, true, 2);
        assert.equal(r.rounds, 2);
        assert.equal(always.checked, 1, "only round 1 is checked");
        const off = checkingHost(99);
        assert.equal((await ask(off, false, 3)).rounds, 1);
        assert.equal(off.checked, 0);
    });
});

describe("ask: an answer that only repeats the request's code is asked for again once @model", function () {
    this.timeout(120_000);
    const f = engineFixture("hs-incomplete-", () => loadTinyExactModel({contextSize: 1024}));
    const request = "Complete the function.\n```python\ndef add_up(xs):\n    \"\"\"The sum of xs.\"\"\"\n```";
    // the answer prefix makes round 1's response start with a closed code block (the tiny model's own text follows it)
    const ask = (answerPrefix: string, maxRounds: number, events: AskEvent[]) => f.engine.ask(request, {
        workspace: "ws", mode: "none", maxRounds, maxTokensPerRound: 4, log: false, answerPrefix, onEvent: (e) => events.push(e)
    });

    it("a stub goes back with the note; code of its own, or the last round, is the answer", async function () {
        const stub = "```python\ndef add_up(xs):\n    \"\"\"The sum of xs.\"\"\"\n```\n";
        const events: AskEvent[] = [];
        const r = await ask(stub, 3, events);
        assert.ok(r.rounds >= 2, "round 1's stub is not the answer");
        assert.deepEqual(events.filter((e) => e.type === "incomplete"), [{type: "incomplete", round: 1}]);
        assert.ok(r.responses[0]!.startsWith(stub));
        assert.notEqual(r.answer, stub.trim());

        const code = "```python\ndef add_up(xs):\n    return sum(xs)\n```\n";
        const own: AskEvent[] = [];
        const withCode = await ask(code, 3, own);
        assert.equal(withCode.rounds, 1);
        assert.equal(own.filter((e) => e.type === "incomplete").length, 0);
        assert.ok(withCode.answer.includes("return sum(xs)"));

        const last: AskEvent[] = [];
        const once = await ask(stub, 1, last);
        assert.deepEqual([once.rounds, last.filter((e) => e.type === "incomplete").length], [1, 0]);
    });
});
