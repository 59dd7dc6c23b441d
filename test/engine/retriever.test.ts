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

    it("gated full text: a clear best match counts, a request that matches several logs alike gets none of them", async function () {
        const retriever = new Retriever(store, embedder);
        const query = "account balance below zero after deposits and withdrawals";
        const text = await store.searchText(query, {k: 10, workspace: "w", excludeOutcomes: ["rejected", "tests-failed"]});
        assert.ok(text[0]!.id === "related" && text[0]!.score >= 1.3 * text[1]!.score, "the fixture's clear match");
        const clear = await retriever.retrieve(query, {k: 3, workspace: "w", minTextLead: 1.3});
        assert.deepEqual(clear.map((h) => h.id).sort(), (await retriever.retrieve(query, {k: 3, workspace: "w"})).map((h) => h.id).sort());
        assert.ok(clear.some((h) => h.id === "related"));
        // without the clear match, the two logs sharing one word each lead nobody: only the vector hit is left
        const rest = await store.searchText(query, {k: 10, workspace: "w", excludeOutcomes: ["rejected", "tests-failed"]});
        const others = rest.filter((h) => h.id !== "related");
        assert.ok(others.length >= 2 && others[0]!.score < 1.3 * others[1]!.score, "the fixture's lookalikes");
        const gated = await retriever.retrieve(query, {k: 3, workspace: "w", minTextLead: 1.3, exclude: new Set(["related"])});
        assert.deepEqual(gated.map((h) => h.id), ["paraphrase"]);
        const ungated = await retriever.retrieve(query, {k: 3, workspace: "w", exclude: new Set(["related"])});
        assert.ok(ungated.some((h) => h.id.startsWith("other-")), "ungated, full text stacks the lookalikes");
        // one full-text hit alone has nothing to lead and counts
        const single = await retriever.retrieve("weekday", {k: 3, workspace: "w", minTextLead: 1.3, minVectorSimilarity: 2});
        assert.deepEqual(single.map((h) => h.id), ["other-3"]);
    });
});

describe("inline seed (LanceDB full text, gated like retrieval)", function () {
    let dir: string;
    let store: LogStore;
    const fingerprint = "model-1/f16";

    before(async function () {
        dir = await makeTempDir();
        store = await LogStore.open(dir);
        const add = (id: string, task: string, nTokens = 2) => store.addLog(newLog({id, workspace: "w", task, lastResponse: "done", logText: "done\n\n", nTokens}),
            {kv: [{fingerprint, nTokens, tokens: Array.from({length: nTokens}, (_, i) => i + 1), data: new Uint8Array(nTokens)}]});
        await add("parser", "parse the csv header row into column names");
        await add("dates", "format the invoice dates");
        await add("totals", "sum the invoice totals");
        await add("huge", "render the chart legend", 5000);
    });

    after(async function () {
        store.close();
        await removeDir(dir);
    });

    it("seeds with a clear best match only, with KV of the model and within the cell cap", async function () {
        const retriever = new Retriever(store, null);
        const seed = (query: string, minTextLead?: number) =>
            retriever.findSeed(query, {workspace: "w", fingerprint, maxCells: 768, minTextLead}).then((s) => s?.id ?? null);
        assert.equal(await seed("parse csv header column", 1.3), "parser");
        // "invoice" matches two sessions alike: ungated one of them seeds, gated none does
        const alike = await store.searchText("invoice", {k: 10, workspace: "w"});
        assert.ok(alike.length === 2 && alike[0]!.score < 1.3 * alike[1]!.score, "the fixture's lookalikes");
        assert.ok(["dates", "totals"].includes((await seed("invoice"))!));
        assert.equal(await seed("invoice", 1.3), null);
        assert.equal(await seed("chart legend", 1.3), null, "KV over the cap is no seed");
        assert.equal(await retriever.findSeed("parse csv header", {workspace: "w", fingerprint: "other/f16", maxCells: 768, minTextLead: 1.3}), null);
        assert.equal(await retriever.findSeed("parse csv header", {workspace: "elsewhere", fingerprint, maxCells: 768, minTextLead: 1.3}), null);
    });
});
