import assert from "node:assert/strict";
import {describeReused} from "../../src/cli/commands/ask.js";

describe("cli: reused sessions in ask's output", function () {
    it("names the files that changed since a reused session, and nothing for an unchanged one", function () {
        assert.equal(describeReused(["A", "B"], []), "A, B");
        assert.equal(describeReused(["A", "B"], [{logId: "B", changed: ["a.ts"], deleted: ["c.ts"]}]),
            "A, B (files changed since: a.ts, c.ts (deleted))");
    });

    it("adds the share of the answer's lines a session held, from 20 %", function () {
        assert.equal(describeReused(["A", "B", "C"], [{logId: "B", changed: ["a.ts"], deleted: []}],
            [{logId: "A", share: 0.1}, {logId: "B", share: 0.5}, {logId: "C", share: 1}]),
        "A, B (files changed since: a.ts; 50 % of the answer's lines), C (100 % of the answer's lines)");
    });
});
