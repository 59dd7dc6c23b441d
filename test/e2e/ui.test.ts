// Browser UI tests: real VS Code (code-server) with the extension in development mode, driven by headless
// Chromium as a user would: the chat sidebar (streaming, reuse chips, forgetting a session), a palette
// command, inline ghost text accepted with Tab. Screenshots go to test-results/screenshots/.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import type {FrameLocator, Page} from "playwright-core";
import {LogStore} from "../../src/engine/store/index.js";
import {askInChat, uiSession, until, withStore} from "./uiSession.js";
import {openFile, runPaletteCommand, screenshot, webviewFrame} from "./workbench.js";

describe("Hindsight UI in code-server with headless Chromium @model", function () {
    this.timeout(10 * 60_000);
    const s = uiSession({
        name: "ui",
        settings: {"hindsight.inline.enabled": true, "hindsight.inline.delayMs": 150, "hindsight.inline.useMemory": false}
    });
    let page: Page;
    let chat: FrameLocator;
    let firstLogId: string;
    before(() => {
        page = s.page;
    });
    const storeOf = <T>(fn: (store: LogStore) => Promise<T>) => withStore(s.storage, fn);

    it("opens the Hindsight sidebar with its chat view", async function () {
        await page.locator('.activitybar a[aria-label^="Hindsight"]').first().click();
        chat = await webviewFrame(page, "#prompt");
        await chat.locator("#prompt").waitFor();
        await screenshot(page, "1-sidebar");
    });

    /** Sends a question; returns the finished assistant message's log id and whether text arrived before it finished. */
    async function ask(question: string, nth: number): Promise<{logId: string | null, streamed: boolean}> {
        const {message, streamed} = await askInChat(page, chat, question, nth);
        assert.ok((await message.innerText()).trim().length > 0, "the finished answer has text");
        return {logId: await message.getAttribute("data-log-id"), streamed};
    }

    it("streams an answer to a question typed in the chat", async function () {
        const first = await ask("How does total_value in inventory.py compute its result?", 0);
        await screenshot(page, "2-first-answer");
        assert.ok(first.streamed, "text appeared before the answer was done (streaming)");
        assert.ok(first.logId != null, "the finished answer carries its log id");
        firstLogId = first.logId;
        assert.equal(await chat.locator(".message.user").count(), 1);
        const logged = await storeOf((store) => store.getLog(firstLogId));
        assert.ok(logged != null && /total_value/.test(logged.task), "the session is in the store");
    });

    it("a related question in a new chat shows a reuse chip; its session can be forgotten", async function () {
        // in the same conversation the first answer is in the prompt already, and its session is not retrieved
        await chat.locator("#new-chat").click();
        await until(page, "New Chat clears the conversation", async () => await chat.locator(".message").count() === 0, 10_000);
        await ask("Does total_value in inventory.py skip blank lines, and what does parse_line return?", 0);
        const chip = chat.locator(`.message.assistant >> nth=0 >> .reuse-chip[data-log-id="${firstLogId}"]`);
        await chip.waitFor({timeout: 10_000});
        await screenshot(page, "3-reuse-chip");
        await chip.click();
        const detail = chat.locator(".session-detail");
        await detail.waitFor({timeout: 10_000});
        await screenshot(page, "4-session-detail");
        await detail.locator(".forget").click();
        const deadline = Date.now() + 30_000;
        while (await storeOf((store) => store.getLog(firstLogId)) != null) {
            assert.ok(Date.now() < deadline, `log ${firstLogId} is still in the store 30 s after .forget`);
            await page.waitForTimeout(250);
        }
        await screenshot(page, "5-forgotten");
    });

    it("a palette command marks the last answer good", async function () {
        const last = await storeOf(async (store) => (await store.listLogs()).sort((a, b) => b.createdAt.localeCompare(a.createdAt))[0]);
        assert.ok(last != null, "the related question was logged");
        await runPaletteCommand(page, "Hindsight: Mark Last Answer Good");
        const deadline = Date.now() + 30_000;
        while ((await storeOf((store) => store.getLog(last.id)))?.outcome !== "accepted") {
            assert.ok(Date.now() < deadline, "the outcome did not become accepted");
            await page.waitForTimeout(250);
        }
        await screenshot(page, "6-marked-good");
    });

    it("inline ghost text is accepted with Tab", async function () {
        await openFile(page, "inventory.py");
        const editor = page.locator(".editor-instance .monaco-editor").first();
        await editor.locator(".view-lines").click();
        await page.keyboard.press("Control+End");
        await page.keyboard.press("Enter");
        await page.keyboard.press("Enter");
        await page.keyboard.type("def average_price(lines):\n", {delay: 20});
        const ghost = editor.locator(".ghost-text, .ghost-text-decoration");
        await ghost.first().waitFor({timeout: 120_000});
        await screenshot(page, "7-ghost-text");
        const suggested = (await ghost.allInnerTexts()).join("").trim();
        await page.keyboard.press("Tab");
        await ghost.first().waitFor({state: "detached", timeout: 10_000}).catch(() => undefined);
        await page.keyboard.press("Control+S");
        // Saving is asynchronous: poll the file until the accepted text is on disk.
        const file = path.join(s.workspace, "inventory.py");
        const header = "def average_price(lines):";
        const deadline = Date.now() + 20_000;
        let after = "";
        for (;;) {
            const text = fs.readFileSync(file, "utf8");
            after = text.includes(header) ? text.slice(text.indexOf(header) + header.length) : "";
            if (after.trim().length > 0 || Date.now() > deadline)
                break;
            await page.waitForTimeout(250);
        }
        assert.ok(after.trim().length > 0, `Tab inserted the suggestion into the saved file (ghost text was ${JSON.stringify(suggested)})`);
        await screenshot(page, "8-accepted");
    });
});
