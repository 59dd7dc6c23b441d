import assert from "node:assert/strict";
import {encode, kvFingerprint} from "../../src/engine/kv/logKv.js";
import type {ConversationTurn} from "../../src/engine/session/types.js";
import {engineFixture, loadTinyExactModel} from "../support/engineFixture.js";

/** A conversation's follow-up with `reuseCache`: only its new tokens are evaluated, and its log is encoded aside. */
describe("ask with reuseCache: a follow-up evaluates only its new tokens @model", function () {
    this.timeout(120_000);
    const workspace = "ws";
    const f = engineFixture("hs-reuse-", () => loadTinyExactModel({contextSize: 2048}));
    const first = "Write a function scale_prices(prices, factor) that multiplies every price by factor.";
    const followUp = "Now make it round each price to two decimals.";

    async function turn(request: string, conversation: ConversationTurn[], reuseCache: boolean, mode: "none" | "kv" = "none", excludeLogs: string[] = []) {
        return f.engine.ask(request, {workspace, mode, maxRounds: 1, maxTokensPerRound: 12, conversation, reuseCache, excludeLogs});
    }

    it("the second turn evaluates far fewer prompt tokens than without reuse, and its log is the same as one encoded on the engine's sequence", async function () {
        const a = await turn(first, [], true);
        const conversation: ConversationTurn[] = [{role: "user", text: first}, {role: "assistant", text: a.responses[0]!}];
        const b = await turn(followUp, conversation, true);
        // the same follow-up from a cleared sequence
        await turn("something else entirely", [], false);
        const cold = await turn(followUp, conversation, false);
        console.log(`      follow-up prompt tokens evaluated: ${b.tokens.prompt} with reuse, ${cold.tokens.prompt} without`);
        assert.ok(cold.tokens.prompt > 40, String(cold.tokens.prompt));
        assert.ok(b.tokens.prompt * 2 < cold.tokens.prompt, `${b.tokens.prompt} vs ${cold.tokens.prompt}`);

        const log = (await f.store.getLog(b.logId!))!;
        const stored = (await f.store.getKv(log.id, kvFingerprint(f.runtime)))!;
        const context = await f.runtime.createContext({sequences: 1, contextSize: 2048});
        try {
            const again = await encode(f.runtime, context.getSequence(), {logText: log.logText, lastResponse: log.lastResponse});
            assert.deepEqual([...stored.tokens], again.tokens);
            assert.deepEqual(Buffer.from(stored.data), Buffer.from(again.blob), "the KV encoded on the scratch context is the same");
        } finally {
            await context.dispose();
        }
    });

    it("a conversation's own earlier logs can be left out of retrieval", async function () {
        const a = await turn(first, [], true, "kv");
        const conversation: ConversationTurn[] = [{role: "user", text: first}, {role: "assistant", text: a.responses[0]!}];
        const with_ = await turn(first, conversation, true, "kv");
        assert.ok(with_.usedLogs.includes(a.logId!), "without excludeLogs the first turn's log is retrieved");
        const without = await turn(first, conversation, true, "kv", [a.logId!]);
        assert.ok(!without.usedLogs.includes(a.logId!));
    });
});
