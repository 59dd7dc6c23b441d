import assert from "node:assert/strict";
import {parseToHost, parseToWebview, toHost, toWebview} from "../../src/shared/protocol.js";
import {arrayOf, literal, nullable, object, optional, str} from "../../src/shared/validate.js";

describe("extension protocol", () => {
    describe("validator", () => {
        const guard = object({a: str, b: optional(nullable(str)), c: arrayOf(literal("x", "y"))});

        it("accepts exact shapes, with optional fields missing or null", () => {
            assert.equal(guard({a: "1", c: []}), true);
            assert.equal(guard({a: "1", b: null, c: ["x", "y"]}), true);
            assert.equal(guard({a: "1", b: "2", c: ["y"]}), true);
        });

        it("refuses wrong types, missing fields, extra fields and non-objects", () => {
            assert.equal(guard({a: 1, c: []}), false);
            assert.equal(guard({c: []}), false);
            assert.equal(guard({a: "1", c: ["z"]}), false);
            assert.equal(guard({a: "1", c: [], extra: true}), false);
            assert.equal(guard([]), false);
            assert.equal(guard(null), false);
            assert.equal(guard("a"), false);
        });
    });

    describe("webview -> host", () => {
        it("accepts every well-formed message", () => {
            const good = [
                toHost("ready", {}),
                toHost("ask", {requestId: "r1", text: "hello", attachSelection: false}),
                toHost("abort", {requestId: "r1"}),
                toHost("newChat", {}),
                toHost("openSession", {logId: "L"}),
                toHost("forget", {logId: "L"}),
                toHost("mark", {logId: "L", outcome: "accepted"}),
                toHost("mark", {logId: "L", outcome: "rejected"}),
                toHost("copy", {code: "x"}),
                toHost("insert", {code: "x", logId: null}),
                toHost("insert", {code: "x", logId: "L"}),
                toHost("apply", {code: "x", logId: null}),
                toHost("setAttachSelection", {enabled: true})
            ];
            for (const message of good)
                assert.deepEqual(parseToHost(JSON.parse(JSON.stringify(message))), message, JSON.stringify(message));
        });

        it("refuses unknown types, bad payloads, extra fields and loose shapes", () => {
            const bad: unknown[] = [
                null, undefined, 42, "ask", [],
                {type: "ask"},
                {type: "command", payload: {}},
                {type: "ask", payload: {requestId: "r", text: "t"}},
                {type: "ask", payload: {requestId: "r", text: 5, attachSelection: false}},
                {type: "mark", payload: {logId: "L", outcome: "unknown"}},
                {type: "mark", payload: {logId: "L", outcome: "accepted", extra: 1}},
                {type: "ready", payload: {}, extra: 1},
                {type: "apply", payload: {code: "x"}},
                {type: "toString", payload: {}},
                {type: "__proto__", payload: {}}
            ];
            for (const message of bad)
                assert.equal(parseToHost(message), null, JSON.stringify(message));
        });
    });

    describe("host -> webview", () => {
        it("accepts streaming, init and detail messages", () => {
            const good = [
                toWebview("stream", {requestId: "r", chunk: "Hel", done: false}),
                toWebview("stream", {requestId: "r", chunk: "", done: true, logId: "L", reused: [{logId: "A", task: "t"}], final: "Hello"}),
                toWebview("stream", {requestId: "r", chunk: "", done: true, error: "Stopped."}),
                toWebview("stream", {requestId: "r", chunk: "", done: true, logId: "L", reused: [{logId: "A", task: "t", stale: {changed: ["a.ts"], deleted: []}}]}),
                toWebview("sessionDetail", {logId: "L", task: "t", reasoning: "r", createdAt: "2026-01-01T00:00:00.000Z", outcome: "unknown", pinned: false,
                    files: [{path: "a.ts", state: "changed"}, {path: "b.ts", state: "deleted"}, {path: "c.ts", state: "unchanged"}]}),
                toWebview("init", {history: [{id: "r", role: "assistant", text: "hi", done: true, logId: null, reused: []}],
                    status: {state: "ready", device: "cpu", memorySize: 3}, attachSelection: false, trusted: true}),
                toWebview("status", {state: "error", error: "no model"}),
                toWebview("sessionDetail", {logId: "L", task: "t", reasoning: "r", createdAt: "2026-01-01T00:00:00.000Z", outcome: "unknown", pinned: false}),
                toWebview("forgotten", {logId: "L"}),
                toWebview("outcome", {logId: "L", outcome: "rejected"}),
                toWebview("cleared", {})
            ];
            for (const message of good)
                assert.deepEqual(parseToWebview(JSON.parse(JSON.stringify(message))), message, JSON.stringify(message));
        });

        it("refuses malformed host messages", () => {
            const bad: unknown[] = [
                {type: "stream", payload: {requestId: "r", chunk: "x"}},
                {type: "stream", payload: {requestId: "r", chunk: "x", done: "yes"}},
                {type: "stream", payload: {requestId: "r", chunk: "x", done: true, reused: [{logId: 1, task: "t"}]}},
                {type: "stream", payload: {requestId: "r", chunk: "", done: true, reused: [{logId: "A", task: "t", stale: {changed: ["a.ts"]}}]}},
                {type: "stream", payload: {requestId: "r", chunk: "", done: true, reused: [{logId: "A", task: "t", stale: {changed: [1], deleted: []}}]}},
                {type: "sessionDetail", payload: {logId: "L", task: "t", reasoning: "r", createdAt: "x", outcome: "unknown", pinned: false,
                    files: [{path: "a.ts", state: "moved"}]}},
                {type: "status", payload: {state: "sleeping"}},
                {type: "status", payload: {state: "ready", memorySize: Number.NaN}},
                {type: "init", payload: {history: [{id: "r", role: "system", text: "", done: true, logId: null, reused: []}],
                    status: {state: "idle"}, attachSelection: false, trusted: true}},
                {type: "ask", payload: {requestId: "r", text: "t", attachSelection: false}}
            ];
            for (const message of bad)
                assert.equal(parseToWebview(message), null, JSON.stringify(message));
        });
    });
});
