import assert from "node:assert/strict";
import {LogStore} from "../../src/engine/store/index.js";
import {Retriever, type QueryEmbedder} from "../../src/engine/retrieval/Retriever.js";
import {makeTempDir, newLog, removeDir} from "../support/storeFixtures.js";

/** A unit vector at cosine `similarity` to [1, 0, 0]. */
const at = (similarity: number, z = 0): number[] => [similarity, Math.sqrt(1 - similarity * similarity - z * z), z];

/** The embedder is the retriever's boundary: this one gives every query the vector [1, 0, 0]. */
const embedder: QueryEmbedder = {space: "test-space", embed: () => Promise.resolve(Float32Array.from([1, 0, 0]))};

describe("retrieval (LanceDB full text + vectors)", function () {
    let dir: string;
    let store: LogStore;

    before(async function () {
        dir = await makeTempDir();
        store = await LogStore.open(dir);
        const add = (id: string, task: string, similarity: number, z = 0) =>
            store.addLog(newLog({id, workspace: "w", task, lastResponse: "done", logText: "done\n\n"}), {embedding: {space: "test-space", vector: at(similarity, z)}});
        // the related log: many words in common with the query, but the chat model's embedding rates it 0.45
        await add("related", "Return True when the account balance falls below zero after the deposits and withdrawals", 0.45);
        // unrelated logs that share a word or two and that the embedding rates a little higher (all below 0.9)
        await add("other-1", "Sort the withdrawals by date", 0.5);
        await add("other-2", "Sum the deposits of each customer", 0.49, 0.1);
        await add("other-3", "Parse the date string and return the weekday", 0.48, 0.2);
        // a near-duplicate by embedding with no word in common
        await add("paraphrase", "Detect an overdraft in a ledger", 0.95);
        // the best text match, but its tests failed
        await add("failed", "Return True when the account balance falls below zero after the deposits and withdrawals", 0.45, 0.3);
        await store.setOutcome("failed", "tests-failed");
    });

    after(async function () {
        store.close();
        await removeDir(dir);
    });

    it("embeddings that rate everything alike do not push out the log full-text search found", async function () {
        const query = "account balance below zero after deposits and withdrawals";
        const hits = await new Retriever(store, embedder).retrieve(query, {k: 1, workspace: "w"});
        assert.deepEqual(hits.map((h) => h.id), ["related"]);
        // the same fusion without the similarity threshold ranks an unrelated log first: the threshold is what helps
        const ungated = await new Retriever(store, embedder).retrieve(query, {k: 1, workspace: "w", minVectorSimilarity: 0});
        assert.notDeepEqual(ungated.map((h) => h.id), ["related"]);
    });

    it("a log very similar by embedding is found without a word in common; failed logs never are", async function () {
        const hits = await new Retriever(store, embedder).retrieve("account balance below zero after deposits and withdrawals", {k: 3, workspace: "w"});
        assert.ok(hits.some((h) => h.id === "paraphrase"));
        assert.ok(!hits.some((h) => h.id === "failed"));
        const vectorOnly = await new Retriever(store, embedder).retrieve("zzz qqq", {k: 3, workspace: "w"});
        assert.deepEqual(vectorOnly.map((h) => h.id), ["paraphrase"]);
    });
});
