import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type {Browser, FrameLocator, Locator, Page} from "playwright-core";
import {LogStore} from "../../src/engine/store/index.js";
import {realTestModel} from "../support/realModel.js";
import {assertExtensionBuilt, extensionSettings, launchBrowser, repoRoot, requireTools, sampleWorkspace, startCodeServer, type CodeServer} from "./harness.js";
import {screenshot, screenshotsDir, waitForWorkbench} from "./workbench.js";

/** One code-server with the extension in development mode, a headless Chromium page on it, and their temp folders. */
export interface UiSession {
    server: CodeServer | undefined;
    browser: Browser | undefined;
    page: Page;
    /** The extension's store folder (`hindsight.storageFolder`). */
    storage: string;
    /** A temp copy of samples/workspace. */
    workspace: string;
}

export interface UiSessionOptions {
    /** Prefix of the temp store folder. */
    name: string;
    /** User settings beyond the model and the store. */
    settings?: Record<string, unknown>;
    /** Runs on the workspace copy before code-server starts (seed files). */
    prepare?(workspace: string): void;
}

/**
 * Registers the mocha hooks of a browser UI test: before, the tools checked, the test model found, a temp store
 * and workspace, code-server started with the settings and the page at the workbench; after each failed test a
 * screenshot; after all, everything closed and removed. The returned object is filled in by `before`.
 */
export function uiSession(o: UiSessionOptions): UiSession {
    const s = {server: undefined, browser: undefined} as UiSession;
    before(async function () {
        await requireTools();
        assertExtensionBuilt();
        const model = await realTestModel();
        s.storage = fs.mkdtempSync(path.join(os.tmpdir(), `hindsight-${o.name}-store-`));
        s.workspace = sampleWorkspace();
        o.prepare?.(s.workspace);
        s.server = await startCodeServer({
            workspace: s.workspace,
            extensionDevelopmentPath: repoRoot,
            userSettings: {...extensionSettings(model, s.storage), ...o.settings},
            env: {HINDSIGHT_TEST_MODEL: model}
        });
        s.browser = await launchBrowser();
        s.page = await s.browser.newPage({viewport: {width: 1400, height: 900}});
        await s.page.goto(s.server.url);
        await waitForWorkbench(s.page);
        console.log(`      screenshots: ${screenshotsDir}`);
    });
    afterEach(async function () {
        if (this.currentTest?.state === "failed" && s.page != null)
            console.log(`      failure screenshot: ${await screenshot(s.page, `failed-${o.name}-${this.currentTest.title.replace(/\W+/g, "-")}`)}`);
    });
    after(async function () {
        await s.browser?.close().catch(() => undefined);
        await s.server?.stop();
        for (const dir of [s.storage, s.workspace])
            if (dir != null)
                fs.rmSync(dir, {recursive: true, force: true});
    });
    return s;
}

/** The extension's log store, opened from the test process (LanceDB allows several processes). */
export async function withStore<T>(storage: string, fn: (store: LogStore) => Promise<T>): Promise<T> {
    const store = await LogStore.open(storage);
    try {
        return await fn(store);
    } finally {
        store.close();
    }
}

/** Polls until `check` holds, failing with `what` after `timeoutMs`. */
export async function until(page: Page, what: string, check: () => Promise<boolean>, timeoutMs = 30_000, everyMs = 250): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!await check()) {
        assert.ok(Date.now() < deadline, `${what} (waited ${timeoutMs / 1000} s)`);
        await page.waitForTimeout(everyMs);
    }
}

/**
 * Sends `question` from the chat box and waits (5 minutes at most) for the `nth` assistant message to finish;
 * `streamed`: whether text showed before it finished.
 */
export async function askInChat(page: Page, chat: FrameLocator, question: string, nth: number): Promise<{message: Locator, streamed: boolean}> {
    await chat.locator("#prompt").fill(question);
    await chat.locator("#send").click();
    const message = chat.locator(".message.assistant").nth(nth);
    await message.waitFor({timeout: 120_000});
    let streamed = false;
    await until(page, "the answer finished", async () => {
        if (await message.getAttribute("data-done") === "true")
            return true;
        streamed ||= (await message.innerText()).trim().length > 0 && await message.getAttribute("data-done") !== "true";
        return false;
    }, 300_000, 50);
    return {message, streamed};
}
