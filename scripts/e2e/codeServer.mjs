// Starts code-server (= real VS Code in a browser) for one run: a free port on 127.0.0.1, its own user-data,
// extensions, TMPDIR and XDG_* folders, no auth, no telemetry, the smoke-test driver on (so the workbench
// accepts the extension-test payload in its URL). Waits until it answers, and stop() kills its whole process
// group (the server forks extension hosts and file watchers) and removes the run folder.
import {spawn} from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import {requireTools} from "./tools.mjs";

/** User settings every run starts from: a quiet workbench with nothing that phones home or competes with us. */
export const baseUserSettings = {
    "workbench.startupEditor": "none",
    "workbench.tips.enabled": false,
    "workbench.enableExperiments": false,
    "workbench.welcomePage.walkthroughs.openOnInstall": false,
    "security.workspace.trust.enabled": false,
    "telemetry.telemetryLevel": "off",
    "update.mode": "none",
    "extensions.autoCheckUpdates": false,
    "extensions.autoUpdate": false,
    "extensions.ignoreRecommendations": true,
    "chat.disableAIFeatures": true,
    "window.restoreWindows": "none",
    "editor.inlineSuggest.enabled": true
};

/**
 * Servers not yet stopped: killed (and their run folders removed) when this process exits by any path that runs
 * `exit` handlers (process.exit, Playwright's own Ctrl+C handler), since the detached group would outlive it.
 * @type {Map<number, string | null>}
 */
const live = new Map();
process.on("exit", () => {
    for (const [pid, runDir] of live) {
        killGroup(pid, "SIGKILL");
        if (runDir != null)
            fs.rmSync(runDir, {recursive: true, force: true});
    }
});

/** A free TCP port on 127.0.0.1. */
export async function freePort() {
    return await new Promise((resolve, reject) => {
        const server = net.createServer();
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => {
            const address = server.address();
            server.close(() => resolve(typeof address === "object" && address != null ? address.port : 0));
        });
    });
}

/**
 * @typedef {object} CodeServerOptions
 * @property {string} workspace folder the workbench opens.
 * @property {string} [extensionDevelopmentPath] an extension folder loaded in development mode (through the URL payload).
 * @property {string} [extensionTestsPath] a test module the extension host runs (`run()`); needs extensionDevelopmentPath.
 * @property {Record<string, unknown>} [userSettings] merged over baseUserSettings into the run's user settings
 *   (and the remote machine's settings, for machine-scoped settings).
 * @property {string} [userDataDir] a user-data folder to use (and keep) instead of a fresh one in the run folder.
 * @property {string} [extensionsDir] an extensions folder to use (and keep) instead of a fresh one.
 * @property {Record<string, string>} [env] extra environment for the server and its extension hosts.
 * @property {string} [host] address to bind. Defaults to 127.0.0.1.
 * @property {number} [port] port to bind. Defaults to a free one.
 * @property {boolean} [keepRunDir] keep the run folder (logs, user data) after stop(). Defaults to false.
 * @property {number} [readyTimeoutMs] how long to wait for the server to answer. Defaults to 60000.
 * @property {(line: string) => void} [onOutput] each line the server prints.
 */

/**
 * Starts code-server and waits until it answers.
 * @param {CodeServerOptions} options
 */
export async function startCodeServer(options) {
    const tools = requireTools({browser: false});
    const host = options.host ?? "127.0.0.1";
    const port = options.port ?? await freePort();
    const runDir = fs.mkdtempSync(path.join(os.tmpdir(), "hindsight-code-server-"));
    const dirs = {
        userData: options.userDataDir ?? path.join(runDir, "user-data"),
        extensions: options.extensionsDir ?? path.join(runDir, "extensions"),
        tmp: path.join(runDir, "tmp"),
        config: path.join(runDir, "xdg", "config"),
        data: path.join(runDir, "xdg", "data"),
        cache: path.join(runDir, "xdg", "cache"),
        state: path.join(runDir, "xdg", "state"),
        runtime: path.join(runDir, "xdg", "runtime")
    };
    for (const dir of Object.values(dirs))
        fs.mkdirSync(dir, {recursive: true, mode: 0o700});
    writeUserSettings(dirs.userData, options.userSettings ?? {});

    const args = [
        tools.codeServerEntry,
        "--auth", "none",
        "--bind-addr", `${host}:${port}`,
        "--user-data-dir", dirs.userData,
        "--extensions-dir", dirs.extensions,
        "--disable-telemetry",
        "--disable-update-check",
        "--disable-workspace-trust",
        "--disable-getting-started-override",
        "--ignore-last-opened",
        "--vscode-option", "enable-smoke-test-driver",
        options.workspace
    ];
    const logFile = path.join(runDir, "code-server.log");
    const logStream = fs.createWriteStream(logFile);
    const child = spawn(tools.node24, args, {
        detached: true,  // its own process group, so stop() reaches the extension hosts it forks
        stdio: ["ignore", "pipe", "pipe"],
        env: {
            ...process.env,
            ...options.env,
            PATH: `${path.dirname(tools.node24)}${path.delimiter}${process.env.PATH ?? ""}`,
            TMPDIR: dirs.tmp,
            XDG_CONFIG_HOME: dirs.config,
            XDG_DATA_HOME: dirs.data,
            XDG_CACHE_HOME: dirs.cache,
            XDG_STATE_HOME: dirs.state,
            XDG_RUNTIME_DIR: dirs.runtime
        }
    });
    let tail = "";
    const onData = (/** @type {Buffer} */ chunk) => {
        logStream.write(chunk);
        const text = chunk.toString("utf8");
        tail = (tail + text).slice(-4000);
        if (options.onOutput)
            for (const line of text.split("\n").filter((l) => l.trim() !== ""))
                options.onOutput(line);
    };
    if (child.pid != null)
        live.set(child.pid, options.keepRunDir ? null : runDir);
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    /** @type {Promise<number | null>} */
    const exited = new Promise((resolve) => child.once("exit", (code) => resolve(code)));

    const baseUrl = `http://${host}:${port}`;
    let stopped = false;
    const stop = async () => {
        if (stopped)
            return;
        stopped = true;
        if (child.pid != null)
            live.delete(child.pid);
        killGroup(child.pid, "SIGTERM");
        const timedOut = await Promise.race([exited.then(() => false), delay(5000).then(() => true)]);
        if (timedOut)
            killGroup(child.pid, "SIGKILL");
        await delay(200);
        killGroup(child.pid, "SIGKILL");  // stragglers of the group (extension hosts, watchers)
        logStream.end();
        if (!options.keepRunDir)
            fs.rmSync(runDir, {recursive: true, force: true, maxRetries: 3});
    };

    try {
        await waitUntilReady(baseUrl, exited, options.readyTimeoutMs ?? 60_000, () => tail);
    } catch (err) {
        await stop();
        throw err;
    }

    const remote = (/** @type {string} */ p) => `vscode-remote://${host}:${port}${path.resolve(p)}`;
    /** @type {[string, string][]} */
    const payload = [];
    if (options.extensionDevelopmentPath != null)
        payload.push(["extensionDevelopmentPath", remote(options.extensionDevelopmentPath)]);
    if (options.extensionTestsPath != null)
        payload.push(["extensionTestsPath", remote(options.extensionTestsPath)]);
    const query = new URLSearchParams({folder: path.resolve(options.workspace)});
    if (payload.length > 0)
        query.set("payload", JSON.stringify(payload));
    return {
        port,
        baseUrl,
        /** The workbench URL: the folder and, when given, the development extension and tests. */
        url: `${baseUrl}/?${query.toString()}`,
        runDir,
        dirs,
        logFile,
        pid: child.pid,
        exited,
        /** The last lines the server printed. */
        outputTail: () => tail,
        stop
    };
}

/**
 * Writes the settings twice: as user settings (User/settings.json) and as the remote machine's settings
 * (Machine/settings.json). The workbench is a remote window of code-server's host, where settings with
 * `"scope": "machine"` (paths such as hindsight.modelPath) are read from the machine's settings only.
 * @param {string} userDataDir @param {Record<string, unknown>} settings
 */
function writeUserSettings(userDataDir, settings) {
    for (const [kind, base] of /** @type {const} */ ([["User", baseUserSettings], ["Machine", {}]])) {
        const file = path.join(userDataDir, kind, "settings.json");
        fs.mkdirSync(path.dirname(file), {recursive: true});
        let existing = {};
        try {
            existing = JSON.parse(fs.readFileSync(file, "utf8"));
        } catch {
            // a fresh user-data folder
        }
        fs.writeFileSync(file, JSON.stringify({...base, ...existing, ...settings}, null, 4) + "\n");
    }
}

/** @param {string} baseUrl @param {Promise<number | null>} exited @param {number} timeoutMs @param {() => string} tail */
async function waitUntilReady(baseUrl, exited, timeoutMs, tail) {
    let exitCode = /** @type {number | null | undefined} */ (undefined);
    void exited.then((code) => { exitCode = code; });
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
        if (exitCode !== undefined)
            throw new Error(`code-server exited (code ${exitCode}) before it was ready. Its last output:\n${tail()}`);
        try {
            const res = await fetch(`${baseUrl}/healthz`, {signal: AbortSignal.timeout(2000)});
            if (res.ok)
                return;
        } catch {
            // not listening yet
        }
        await delay(250);
    }
    throw new Error(`code-server did not answer on ${baseUrl} within ${timeoutMs} ms. Its last output:\n${tail()}`);
}

/** @param {number | undefined} pid @param {NodeJS.Signals} signal */
function killGroup(pid, signal) {
    if (pid == null)
        return;
    try {
        process.kill(-pid, signal);
    } catch {
        // already gone
    }
}

/** @param {number} ms */
function delay(ms) {
    return new Promise((resolve) => setTimeout(resolve, ms));
}
