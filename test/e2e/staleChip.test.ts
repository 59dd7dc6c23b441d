// Stale-log awareness as a user sees it: real VS Code (code-server) with the extension in development mode, driven by
// headless Chromium. A question asked with the current file attached logs that file; after the file is edited, the
// same question reuses the session and its chip says "files changed since"; the session panel names the file.
// Screenshot: test-results/screenshots/stale-chip.png.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type {Browser, FrameLocator, Page} from "playwright-core";
import {LogStore} from "../../src/engine/store/index.js";
import {realTestModel} from "../support/realModel.js";
import {assertExtensionBuilt, extensionSettings, launchBrowser, repoRoot, requireTools, sampleWorkspace, startCodeServer, type CodeServer} from "./harness.js";
import {openFile, screenshot, screenshotsDir, waitForWorkbench, webviewFrame} from "./workbench.js";

describe("Hindsight UI: a reused session whose file changed says so @model", function () {
    this.timeout(10 * 60_000);
    let server: CodeServer | undefined;
    let browser: Browser | undefined;
    let page: Page;
    let chat: FrameLocator;
    let storage: string;
    let workspace: string;

    before(async function () {
        await requireTools();
        assertExtensionBuilt();
        const model = await realTestModel();
        storage = fs.mkdtempSync(path.join(os.tmpdir(), "hindsight-ui-stale-store-"));
        workspace = sampleWorkspace();
        server = await startCodeServer({
            workspace,
            extensionDevelopmentPath: repoRoot,
            // one round of a few tokens: what is tested is the session's files, not the answer
            userSettings: {...extensionSettings(model, storage), "hindsight.maxRounds": 1, "hindsight.maxTokens": 24, "hindsight.inline.enabled": false},
            env: {HINDSIGHT_TEST_MODEL: model}
        });
        browser = await launchBrowser();
        page = await browser.newPage({viewport: {width: 1400, height: 900}});
        await page.goto(server.url);
        await waitForWorkbench(page);
        console.log(`      screenshots: ${screenshotsDir}`);
    });

    after(async function () {
        await browser?.close().catch(() => undefined);
        await server?.stop();
        for (const dir of [storage, workspace])
            if (dir != null)
                fs.rmSync(dir, {recursive: true, force: true});
    });

    afterEach(async function () {
        if (this.currentTest?.state === "failed" && page != null)
            console.log(`      failure screenshot: ${await screenshot(page, `failed-${this.currentTest.title.replace(/\W+/g, "-")}`)}`);
    });

    /** Sends a question; returns the finished assistant message (the `nth`). */
    async function ask(question: string, nth: number) {
        await chat.locator("#prompt").fill(question);
        await chat.locator("#send").click();
        const message = chat.locator(".message.assistant").nth(nth);
        await message.waitFor({timeout: 120_000});
        const deadline = Date.now() + 300_000;
        while (await message.getAttribute("data-done") !== "true") {
            assert.ok(Date.now() < deadline, "the answer did not finish within 5 minutes");
            await page.waitForTimeout(100);
        }
        return message;
    }

    it("logs the attached file; after it is edited, the reuse chip says \"files changed since\" and the panel names it", async function () {
        await openFile(page, "inventory.py");
        await page.locator('.activitybar a[aria-label^="Hindsight"]').first().click();
        chat = await webviewFrame(page, "#prompt");
        await chat.locator("#attach-selection").check();
        const question = "How does total_value in inventory.py compute its result?";

        const first = await ask(question, 0);
        const firstLogId = await first.getAttribute("data-log-id");
        assert.ok(firstLogId != null, "the first answer was logged");
        const store = await LogStore.open(storage, {readOnly: true});
        try {
            assert.deepEqual((await store.getLog(firstLogId))?.files.map((f) => f.path), ["inventory.py"], "the attached file is in the log");
        } finally {
            store.close();
        }

        fs.appendFileSync(path.join(workspace, "inventory.py"), "\n# edited after the first question\n");
        const second = await ask(question, 1);
        const chip = second.locator(`.reuse-chip[data-log-id="${firstLogId}"]`);
        await chip.waitFor({timeout: 10_000});
        assert.match(await chip.innerText(), /files changed since/);
        assert.match(await chip.getAttribute("class") ?? "", /\bstale\b/);
        assert.match(await chip.getAttribute("title") ?? "", /Files changed since: inventory\.py/);
        await screenshot(page, "stale-chip");

        await chip.click();
        const files = chat.locator(".session-detail .detail-files");
        await files.waitFor({timeout: 10_000});
        assert.match(await files.innerText(), /inventory\.py · changed since/);
        await screenshot(page, "stale-session-detail");
    });
});
