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
