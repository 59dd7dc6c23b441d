#!/usr/bin/env node
// A stand-in for the VS Code executable that runs extension tests in code-server instead: give its path to
// @vscode/test-electron's `runTests({vscodeExecutablePath})` (or @vscode/test-cli's `useInstallation.fromPath`).
// It understands the arguments those tools pass (--extensionDevelopmentPath=, --extensionTestsPath=,
// --user-data-dir=, a folder to open) and ignores the Electron-only ones (--no-sandbox, --disable-updates...).
// The environment (extensionTestsEnv) reaches the extension host. Exit code = the tests' exit code.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

/** @param {string[]} argv */
export function parseVSCodeArgs(argv) {
    /** @type {{extensionDevelopmentPath?: string, extensionTestsPath?: string, userDataDir?: string, folder?: string}} */
    const out = {};
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        const m = /^--([^=]+)(?:=(.*))?$/.exec(arg);
        if (m == null) {
            out.folder ??= arg;
            continue;
        }
        const [, name, inline] = m;
        const takesValue = ["extensionDevelopmentPath", "extensionTestsPath", "user-data-dir", "extensions-dir"].includes(name);
        const value = inline ?? (takesValue ? argv[++i] : undefined);
        if (name === "extensionDevelopmentPath")
            out.extensionDevelopmentPath ??= value;  // code-server's payload takes one development path
        else if (name === "extensionTestsPath")
            out.extensionTestsPath = value;
        else if (name === "user-data-dir")
            out.userDataDir = value;
    }
    return out;
}

const args = parseVSCodeArgs(process.argv.slice(2));
if (args.extensionDevelopmentPath == null || args.extensionTestsPath == null) {
    console.error("vscode-shim runs extension tests only: pass --extensionDevelopmentPath=DIR --extensionTestsPath=FILE [FOLDER].");
    process.exit(64);
}
const workspace = args.folder ?? fs.mkdtempSync(path.join(os.tmpdir(), "hindsight-shim-ws-"));
let settings = {};
if (args.userDataDir != null) {
    // Settings a caller prepared in the user-data folder it passed (as it would for real VS Code).
    try {
        settings = JSON.parse(fs.readFileSync(path.join(args.userDataDir, "User", "settings.json"), "utf8"));
    } catch {
        // none
    }
}
// Ctrl+C (test-electron forwards it as SIGINT) stops the run; code-server and the browser are cleaned up.
const stop = new AbortController();
process.once("SIGINT", () => stop.abort());
process.once("SIGTERM", () => stop.abort());
try {
    const {runExtensionTests} = await import("./runExtensionTests.mjs");
    const code = await runExtensionTests({
        extensionDevelopmentPath: args.extensionDevelopmentPath,
        extensionTestsPath: args.extensionTestsPath,
        workspace,
        userSettings: settings,
        signal: stop.signal
    });
    process.exit(code);
} catch (err) {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
}
