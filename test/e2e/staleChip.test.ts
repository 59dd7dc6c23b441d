// Stale-log awareness as a user sees it: real VS Code (code-server) with the extension in development mode, driven by
// headless Chromium. A question asked with the current file attached logs that file; after the file is edited, the
// same question reuses the session and its chip says "files changed since"; the session panel names the file.
// Screenshot: test-results/screenshots/stale-chip.png.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import type {FrameLocator, Page} from "playwright-core";
import {LogStore} from "../../src/engine/store/index.js";
import {askInChat, uiSession, until} from "./uiSession.js";
import {openFile, screenshot, webviewFrame} from "./workbench.js";

describe("Hindsight UI: a reused session whose file changed says so @model", function () {
    this.timeout(10 * 60_000);
    // one round of a few tokens: what is tested is the session's files, not the answer
    const s = uiSession({name: "stale", settings: {"hindsight.maxRounds": 1, "hindsight.maxTokens": 24, "hindsight.inline.enabled": false}});
    let page: Page;
    let chat: FrameLocator;
    before(() => {
        page = s.page;
    });
    const ask = async (question: string, nth: number) => (await askInChat(page, chat, question, nth)).message;

    it("logs the attached file; after it is edited, the reuse chip says \"files changed since\" and the panel names it", async function () {
        await openFile(page, "inventory.py");
        await page.locator('.activitybar a[aria-label^="Hindsight"]').first().click();
        chat = await webviewFrame(page, "#prompt");
        await chat.locator("#attach-selection").check();
        const question = "How does total_value in inventory.py compute its result?";

        const first = await ask(question, 0);
        const firstLogId = await first.getAttribute("data-log-id");
        assert.ok(firstLogId != null, "the first answer was logged");
        const store = await LogStore.open(s.storage, {readOnly: true});
        try {
            assert.deepEqual((await store.getLog(firstLogId))?.files.map((f) => f.path), ["inventory.py"], "the attached file is in the log");
        } finally {
            store.close();
        }

        fs.appendFileSync(path.join(s.workspace, "inventory.py"), "\n# edited after the first question\n");
        // a new chat: in the same conversation the first answer is in the prompt already and is not retrieved
        await chat.locator("#new-chat").click();
        await until(page, "New Chat clears the conversation", async () => await chat.locator(".message").count() === 0, 10_000);
        const second = await ask(question, 0);
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
