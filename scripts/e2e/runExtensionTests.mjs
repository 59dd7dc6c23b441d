// Runs an extension's integration tests inside real VS Code (code-server), the @vscode/test-electron way:
// the extension is loaded in development mode and the extension host runs `extensionTestsPath`'s `run()`.
// code-server reads both paths from the workbench URL (the smoke-test driver's payload), so a headless
// Chromium opens that URL; the workbench hands the tests' output to `codeAutomationLog` and their result to
// `codeAutomationExit(code)`, which we expose to the page. The promise resolves to that exit code.
import fs from "node:fs";
import path from "node:path";
import {format} from "node:util";
import {launchBrowser} from "./browser.mjs";
import {startCodeServer} from "./codeServer.mjs";

/**
 * @typedef {object} ExtensionTestOptions
 * @property {string} extensionDevelopmentPath the extension folder (its package.json).
 * @property {string} extensionTestsPath the test module (CommonJS, exports `run(): Promise<void>`).
 * @property {string} workspace folder to open.
 * @property {Record<string, unknown>} [userSettings] user settings for the run.
 * @property {Record<string, string>} [env] environment for the extension host (the tests read it).
 * @property {string} [extensionsDir] an extensions folder (installed extensions) instead of a fresh empty one.
 * @property {number} [timeoutMs] give up after this long (exit code 2). Defaults to 600000.
 * @property {string} [screenshot] a PNG path: the page is captured when the tests end or time out.
 * @property {(line: string) => void} [log] where the tests' output goes. Defaults to stdout.
 * @property {AbortSignal} [signal] stops the run (exit code 130), cleaning up as after a normal end.
 * @property {boolean} [verbose] also print code-server's and the page's console output. Defaults to false.
 */

/**
 * @param {ExtensionTestOptions} options
 * @returns {Promise<number>} the tests' exit code (0: all passed), 2 on timeout, 3 when the workbench crashed,
 *   130 when stopped through the signal.
 */
export async function runExtensionTests(options) {
    const log = options.log ?? ((line) => process.stdout.write(line + "\n"));
    const verbose = options.verbose ?? process.env.HINDSIGHT_E2E_VERBOSE === "1";
    for (const p of [options.extensionDevelopmentPath, options.extensionTestsPath, options.workspace])
        if (!fs.existsSync(p))
            throw new Error(`runExtensionTests: ${p} does not exist.`);
    const server = await startCodeServer({
        workspace: options.workspace,
        extensionDevelopmentPath: options.extensionDevelopmentPath,
        extensionTestsPath: options.extensionTestsPath,
        userSettings: options.userSettings,
        env: options.env,
        extensionsDir: options.extensionsDir,
        onOutput: verbose ? (line) => log(`[code-server] ${line}`) : undefined
    });
    const browser = await launchBrowser();
    try {
        const page = await browser.newPage({viewport: {width: 1280, height: 800}});
        let settled = false;
        /** @type {(code: number) => void} */
        let resolveResult = () => {};
        /** @type {Promise<number>} */
        const result = new Promise((resolve) => { resolveResult = resolve; });
        const finish = (/** @type {number} */ code) => {
            if (!settled) {
                settled = true;
                resolveResult(code);
            }
        };
        // Console errors and warnings are mostly the workbench's own (offline gallery, no GitHub auth): they are
        // kept for a failure report, printed as they come only when verbose.
        /** @type {string[]} */
        const quiet = [];
        await page.exposeFunction("codeAutomationLog", (/** @type {string} */ type, /** @type {unknown[]} */ args) => {
            const line = format(...args);
            if (type === "log" || type === "info" || verbose)
                log(type === "log" || type === "info" ? line : `[${type}] ${line}`);
            else
                quiet.push(`[${type}] ${line}`);
        });
        await page.exposeFunction("codeAutomationExit", (/** @type {number} */ code) => finish(code));
        page.on("crash", () => { log("The workbench page crashed."); finish(3); });
        if (options.signal?.aborted)
            finish(130);
        options.signal?.addEventListener("abort", () => { log("Stopped."); finish(130); }, {once: true});
        if (verbose)
            page.on("console", (msg) => log(`[page ${msg.type()}] ${msg.text()}`));
        void server.exited.then((code) => {
            if (!settled)
                log(`code-server exited (code ${code}) during the tests.`);
            finish(3);
        });
        await page.goto(server.url);
        const timeoutMs = options.timeoutMs ?? 600_000;
        /** @type {NodeJS.Timeout | undefined} */
        let timer;
        const code = await Promise.race([result, new Promise((resolve) => {
            timer = setTimeout(() => { log(`The extension tests did not finish within ${timeoutMs} ms.`); resolve(2); }, timeoutMs);
        })]);
        clearTimeout(timer);
        if (options.screenshot != null) {
            fs.mkdirSync(path.dirname(options.screenshot), {recursive: true});
            await page.screenshot({path: options.screenshot}).catch(() => undefined);
        }
        if (code !== 0) {
            log(`The workbench's console errors:\n${quiet.slice(-30).join("\n")}`);
            log(`code-server's last output:\n${server.outputTail()}`);
        }
        return /** @type {number} */ (code);
    } finally {
        await browser.close().catch(() => undefined);
        await server.stop();
    }
}
