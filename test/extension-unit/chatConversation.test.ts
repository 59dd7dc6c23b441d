import assert from "node:assert/strict";
import {conversationLogIds, conversationOf, MAX_EXCHANGES} from "../../src/extension/chatConversation.js";
import type {ChatEntry} from "../../src/shared/protocol.js";

const entry = (id: string, role: "user" | "assistant", text: string, more: Partial<ChatEntry> = {}): ChatEntry =>
    ({id, role, text, done: true, logId: null, reused: [], ...more});

describe("chat conversation: what the controller passes to the engine", () => {
    it("keeps the finished exchanges in order and leaves out failed, stopped, empty and running ones", () => {
        const history = [
            entry("1", "user", "Write a loader."), entry("1", "assistant", "function load() {}"),
            entry("2", "user", "Broken?"), entry("2", "assistant", "partial", {error: "Stopped."}),
            entry("3", "user", "Empty?"), entry("3", "assistant", "  "),
            entry("4", "user", "Make it async."), entry("4", "assistant", "async function load() {}"),
            entry("5", "user", "Still running"), entry("5", "assistant", "so far", {done: false})
        ];
        assert.deepEqual(conversationOf(history), [
            {role: "user", text: "Write a loader."}, {role: "assistant", text: "function load() {}"},
            {role: "user", text: "Make it async."}, {role: "assistant", text: "async function load() {}"}
        ]);
        assert.deepEqual(conversationOf([]), [], "after New Chat (history cleared) the conversation is empty");
        assert.deepEqual(conversationOf([entry("x", "assistant", "orphan"), entry("y", "user", "lone")]), []);
    });

    it("lists the logs the conversation's answers left, so they are not retrieved again", () => {
        const history = [entry("1", "user", "q1"), entry("1", "assistant", "a1", {done: true, logId: "L1"}),
            entry("2", "user", "q2"), entry("2", "assistant", "a2", {done: true, logId: null}),
            entry("3", "user", "q3"), entry("3", "assistant", "a3", {done: true, logId: "L3"})];
        assert.deepEqual(conversationLogIds(history), ["L1", "L3"]);
        assert.deepEqual(conversationLogIds([]), []);
    });

    it("passes at most the last MAX_EXCHANGES exchanges", () => {
        const history = Array.from({length: MAX_EXCHANGES + 3}, (_, i) => [entry(`${i}`, "user", `q${i}`), entry(`${i}`, "assistant", `a${i}`)]).flat();
        const got = conversationOf(history);
        assert.equal(got.length, 2 * MAX_EXCHANGES);
        assert.equal(got[0]!.text, "q3");
    });
});
