import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import {HindsightEngine} from "../../src/engine/HindsightEngine.js";
import {ModelRuntime} from "../../src/engine/runtime/ModelRuntime.js";
import {LogStore} from "../../src/engine/store/index.js";
import {makeTinyModel} from "./tinyGguf.js";

/** What `engineFixture` sets up for a describe block: a temp folder, a loaded model, a store in the folder, an engine. */
export interface EngineFixture {
    dir: string;
    runtime: ModelRuntime;
    store: LogStore;
    engine: HindsightEngine;
}

/**
 * Registers mocha `before`/`after` hooks that make a temp folder, load a model with `load`, open a store and create
 * an engine over them, and dispose all of it after the block. The returned object is filled in by `before`.
 */
export function engineFixture(prefix: string, load: (dir: string) => Promise<ModelRuntime>): EngineFixture {
    const fixture = {} as EngineFixture;
    before(async function () {
        fixture.dir = await fs.mkdtemp(path.join(os.tmpdir(), prefix));
        fixture.runtime = await load(fixture.dir);
        fixture.store = await LogStore.open(path.join(fixture.dir, "store"));
        fixture.engine = await HindsightEngine.create(fixture.runtime, fixture.store);
    });
    after(async function () {
        await fixture.engine?.dispose();
        await fixture.runtime?.dispose();
        fixture.store?.close();
        if (fixture.dir != null)
            await fs.rm(fixture.dir, {recursive: true, force: true});
    });
    return fixture;
}

/** The tiny random-weight llama the exact tests use: f32 KV, flash attention off (deterministic to float rounding). */
export async function loadTinyExactModel(options: {contextSize: number, threads?: number}): Promise<ModelRuntime> {
    const modelPath = await makeTinyModel({arch: "llama", nLayer: 2, nEmbd: 128, nHead: 4, nHeadKv: 2, seed: 7});
    return ModelRuntime.load({modelPath, kvType: "f32", gpu: "cpu", threads: options.threads ?? 1, contextSize: options.contextSize, flashAttention: false});
}
