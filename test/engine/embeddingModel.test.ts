import assert from "node:assert/strict";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import {HindsightEngine} from "../../src/engine/HindsightEngine.js";
import {HindsightError} from "../../src/engine/errors.js";
import {ModelRuntime} from "../../src/engine/runtime/ModelRuntime.js";
import {LogStore} from "../../src/engine/store/index.js";
import {makeTinyModel} from "../support/tinyGguf.js";

/** Retrieval embeddings from a dedicated GGUF instead of the chat model's own embedding context. */
describe("engine with a dedicated embedding model @model", function () {
    this.timeout(120_000);
    let dir: string;
    let runtime: ModelRuntime;
    let store: LogStore;
    let embeddingModel: string;

    before(async function () {
        dir = await fs.mkdtemp(path.join(os.tmpdir(), "hs-emb-"));
        const chatModel = await makeTinyModel({arch: "llama", nLayer: 2, nEmbd: 128, nHead: 4, nHeadKv: 2, seed: 7});
        embeddingModel = await makeTinyModel({arch: "qwen2", nLayer: 2, nEmbd: 64, nHead: 2, nHeadKv: 1, seed: 11});
        runtime = await ModelRuntime.load({modelPath: chatModel, gpu: "cpu", threads: 2, contextSize: 1024});
        store = await LogStore.open(path.join(dir, "store"));
    });

    after(async function () {
        store?.close();
        await runtime?.dispose();
        await fs.rm(dir, {recursive: true, force: true});
    });

    it("stores vectors in the embedding model's own space and finds the log by them", async function () {
        const own = await HindsightEngine.create(runtime, store);
        const dedicated = await HindsightEngine.create(runtime, store, {embeddingModelPath: embeddingModel});
        try {
            assert.notEqual(dedicated.embeddingSpace, own.embeddingSpace, "a dedicated model has its own space");
            const log = await dedicated.storeLog({task: "parse the CSV header", workspace: dir, responses: ["ANSWER: split on commas"]});
            assert.deepEqual(await store.embeddingSpaces(), [dedicated.embeddingSpace]);
            const embedder = await dedicated.getEmbedder();
            const query = await embedder.embed("parse the CSV header\nANSWER: split on commas");
            assert.equal(query.length, 64, "the embedding model's width (the chat model's is 128)");
            const hits = await store.searchVector(dedicated.embeddingSpace, query, {k: 1});
            assert.equal(hits[0]?.id, log.id);
            assert.ok(hits[0]!.score > 0.99, `cosine of the same text ${hits[0]!.score}`);
        } finally {
            await dedicated.dispose();
            await own.dispose();
        }
    });

    it("reencodeAll embeds old logs in a new embedding space, even when their KV is already there", async function () {
        const own = await HindsightEngine.create(runtime, store);
        const log = await own.storeLog({task: "rename the config loader", workspace: dir, responses: ["ANSWER: load_config -> read_config"]});
        await own.dispose();
        const dedicated = await HindsightEngine.create(runtime, store, {embeddingModelPath: embeddingModel});
        try {
            assert.ok(!(await store.embeddedLogIds(dedicated.embeddingSpace)).has(log.id), "not yet in the new space");
            const first = await dedicated.reencodeAll();
            assert.equal(first.encoded, 0, "the chat model's KV was already stored");
            assert.ok(first.embedded >= 1, "the old log is embedded in the new space");
            assert.ok((await store.embeddedLogIds(dedicated.embeddingSpace)).has(log.id));
            const embedder = await dedicated.getEmbedder();
            const hits = await store.searchVector(dedicated.embeddingSpace, await embedder.embed("rename the config loader\nANSWER: load_config -> read_config"), {k: 5});
            assert.ok(hits.some((h) => h.id === log.id), "found by similarity in the new space");
            const again = await dedicated.reencodeAll();
            assert.deepEqual([again.encoded, again.embedded], [0, 0], "nothing left to do");
        } finally {
            await dedicated.dispose();
        }
    });

    it("refuses a missing or non-GGUF embedding model before loading anything", async function () {
        const notGguf = path.join(dir, "notes.txt");
        await fs.writeFile(notGguf, "not a model");
        await assert.rejects(HindsightEngine.create(runtime, store, {embeddingModelPath: path.join(dir, "missing.gguf")}),
            (err: unknown) => err instanceof HindsightError && err.code === "MODEL_NOT_FOUND" && /embedding model/.test(err.message));
        await assert.rejects(HindsightEngine.create(runtime, store, {embeddingModelPath: notGguf}),
            (err: unknown) => err instanceof HindsightError && err.code === "MODEL_INVALID");
    });
});
