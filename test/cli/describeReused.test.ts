import assert from "node:assert/strict";
import {describeReused} from "../../src/cli/commands/ask.js";

describe("cli: reused sessions in ask's output", function () {
    it("names the files that changed since a reused session, and nothing for an unchanged one", function () {
        assert.equal(describeReused(["A", "B"], []), "A, B");
        assert.equal(describeReused(["A", "B"], [{logId: "B", changed: ["a.ts"], deleted: ["c.ts"]}]),
            "A, B (files changed since: a.ts, c.ts (deleted))");
    });
});
