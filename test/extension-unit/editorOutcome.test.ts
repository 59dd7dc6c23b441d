import assert from "node:assert/strict";
import {editorOutcome} from "../../src/extension/editorOutcome.js";

describe("editor outcomes: apply / insert mark a log accepted, a thumbs-down still wins", () => {
    it("using the code marks an unmarked (or tested) log accepted", () => {
        assert.equal(editorOutcome("unknown", "accepted"), "accepted");
        assert.equal(editorOutcome("tests-failed", "accepted"), "accepted");
        assert.equal(editorOutcome("tests-passed", "accepted"), "accepted");
    });

    it("never turns a rejected log back to accepted, and does nothing when the outcome is already that", () => {
        assert.equal(editorOutcome("rejected", "accepted"), null);
        assert.equal(editorOutcome("accepted", "accepted"), null);
        assert.equal(editorOutcome("rejected", "rejected"), null);
    });

    it("a discarded or undone edit rejects, even an accepted log", () => {
        assert.equal(editorOutcome("accepted", "rejected"), "rejected");
        assert.equal(editorOutcome("unknown", "rejected"), "rejected");
    });
});
