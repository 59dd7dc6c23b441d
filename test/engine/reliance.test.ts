import assert from "node:assert/strict";
import {relianceOf} from "../../src/engine/session/reliance.js";
import {engineFixture, loadTinyExactModel} from "../support/engineFixture.js";

describe("reliance: which past session an answer leaned on", function () {
    const past = {id: "a", lastResponse: "```python\ndef add(a, b):\n    return a + b\n```"};
    const other = {id: "b", lastResponse: "def sub(a, b):\n    return a - b"};

    it("counts the answer's substantive lines found in each log's last response, whitespace aside", function () {
        const answer = "def add(a, b):\n  return   a + b\n\nprint(add(1, 2))";
        const r = relianceOf(answer, [past, other]);
        assert.deepEqual(r.map((x) => x.logId), ["a", "b"]);
        assert.ok(Math.abs(r[0]!.share - 2 / 3) < 1e-9, String(r[0]!.share));
        assert.equal(r[1]!.share, 0);
    });

    it("short, punctuation-only and fence lines do not count; an answer without lines gives 0", function () {
        assert.deepEqual(relianceOf("ok\n}\n```", [past]), [{logId: "a", share: 0}]);
        assert.deepEqual(relianceOf("", [past, other]).map((x) => x.share), [0, 0]);
        assert.deepEqual(relianceOf("def add(a, b):", []), []);
    });

    it("a copied answer scores 1", function () {
        assert.equal(relianceOf(past.lastResponse, [past])[0]!.share, 1);
    });
});

describe("reliance in ask results @model", function () {
    this.timeout(120_000);
    const f = engineFixture("hs-reliance-", () => loadTinyExactModel({contextSize: 1024}));

    it("an answer that reused logs gives one share per used log, in the same order", async function () {
        const workspace = "ws";
        await f.engine.storeLog({task: "add two numbers in python", workspace, responses: ["def add(a, b):\n    return a + b"]});
        await f.engine.storeLog({task: "add two lists in python", workspace, responses: ["def add_lists(a, b):\n    return a + b"]});
        const result = await f.engine.ask("add two numbers in python", {workspace, mode: "kv", maxRounds: 1, maxTokensPerRound: 8, log: false});
        assert.ok(result.usedLogs.length >= 1);
        assert.deepEqual(result.reliance.map((r) => r.logId), result.usedLogs);
        for (const r of result.reliance)
            assert.ok(r.share >= 0 && r.share <= 1);
        const none = await f.engine.ask("add two numbers in python", {workspace, mode: "none", maxRounds: 1, maxTokensPerRound: 4, log: false});
        assert.deepEqual(none.reliance, []);
    });
});
