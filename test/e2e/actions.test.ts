// Browser UI tests of what a user does with an answer, in real VS Code (code-server) driven by headless Chromium:
// a two-turn conversation whose follow-up only makes sense with the first turn, "Insert at cursor" and "Apply to
// file" on an answer's code block (the editor, the diff, the file on disk and the log's outcome in the store),
// and the walkthrough's buttons. Screenshots: test-results/screenshots/{two-turn,insert,apply,walkthrough}.png.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import type {FrameLocator, Locator, Page} from "playwright-core";
import type {LogOutcome} from "../../src/engine/index.js";
import {LogStore} from "../../src/engine/store/index.js";
import {askInChat, uiSession, until, withStore} from "./uiSession.js";
import {openFile, runPaletteCommand, screenshot, webviewFrame} from "./workbench.js";

// Measured with SmolLM2-135M (greedy): the first request gives one python block defining scale_prices; the
// follow-up, which does not name it, answers "...called `scale_prices`" with the conversation and "list_files"
// without it. logsPerRequest is 0 below, so no past session can carry the name: only the conversation can.
const FIRST = "Write a Python function scale_prices(lines, factor) that multiplies each price by factor. Reply with one python code block.";
const FOLLOW_UP = "What is the name of the function you just wrote? Answer with the name only.";
const APPLY_REQUEST = "Write a Python function add(a, b) that returns a + b. Reply with one python code block.";
const APPLY_FILE = "pricing.py";
const APPLY_FILE_TEXT = "# pricing helpers go here\n";

describe("Hindsight code actions, conversation and walkthrough in code-server with headless Chromium @model", function () {
    this.timeout(10 * 60_000);
    const s = uiSession({
        name: "actions",
        settings: {"hindsight.logsPerRequest": 0, "hindsight.inline.enabled": false, "editor.autoIndent": "none"},
        prepare: (workspace) => fs.writeFileSync(path.join(workspace, APPLY_FILE), APPLY_FILE_TEXT)
    });
    let page: Page;
    let chat: FrameLocator;
    let firstLogId: string;
    before(() => {
        page = s.page;
    });
    const storeOf = <T>(fn: (store: LogStore) => Promise<T>) => withStore(s.storage, fn);
    const waitUntil = (what: string, check: () => Promise<boolean>, timeoutMs?: number) => until(page, what, check, timeoutMs);

    async function outcomeOf(logId: string): Promise<LogOutcome | undefined> {
        return (await storeOf((store) => store.getLog(logId)))?.outcome;
    }

    /** Sends a request from the chat box and waits for the nth assistant message to finish. */
    async function ask(question: string, nth: number): Promise<Locator> {
        const {message} = await askInChat(page, chat, question, nth);
        assert.equal(await message.locator(".error-text").count(), 0, `the answer has no error: ${await message.innerText()}`);
        return message;
    }

    /** The first code block of an answer and its toolbar button (shown on hover). */
    async function codeAction(message: Locator, action: "insert" | "apply"): Promise<{code: string, button: Locator}> {
        const block = message.locator(".code-block").first();
        await block.waitFor({timeout: 10_000});
        await block.hover();
        return {code: await block.locator("code").innerText(), button: block.locator(`.code-actions button.${action}`)};
    }

    it("a two-turn conversation: the follow-up gets the first turn and is answered in the same conversation", async function () {
        await openFile(page, "inventory.py");
        await page.locator('.activitybar a[aria-label^="Hindsight"]').first().click();
        chat = await webviewFrame(page, "#prompt");
        await chat.locator("#prompt").waitFor();

        const first = await ask(FIRST, 0);
        assert.match(await first.locator(".code-block").first().innerText(), /def scale_prices\(/, "the first answer defines scale_prices in a code block");
        firstLogId = await first.getAttribute("data-log-id") ?? assert.fail("the first answer has no log id");

        const second = await ask(FOLLOW_UP, 1);
        await screenshot(page, "two-turn");
        assert.equal(await chat.locator(".message.user").count(), 2, "both requests are in one conversation");
        assert.equal(await chat.locator(".message.assistant").count(), 2);
        const answer = await second.innerText();
        assert.match(answer, /scale_prices/, `the follow-up names the function from the first answer: ${JSON.stringify(answer)}`);

        // what the engine received: the follow-up's task is stored with the request it followed
        const secondLogId = await second.getAttribute("data-log-id") ?? assert.fail("the follow-up has no log id");
        const logged = await storeOf((store) => store.getLog(secondLogId));
        assert.ok(logged != null, "the follow-up is in the store");
        assert.ok(logged.task.startsWith(`(after "${FIRST}")`), `the follow-up's task carries the first request: ${logged.task}`);
        assert.ok(logged.task.endsWith(FOLLOW_UP));
        assert.equal(await outcomeOf(firstLogId), "unknown", "nothing marked the first answer yet");
    });

    it("Insert at cursor puts the answer's code at the cursor and marks its log accepted", async function () {
        const file = path.join(s.workspace, "inventory.py");
        const original = fs.readFileSync(file, "utf8");
        await openFile(page, "inventory.py");
        const editor = page.locator(".editor-instance .monaco-editor").first();
        await editor.locator(".view-lines").click();
        // the cursor at the end of the file (the status bar says so) before anything is typed: under load the
        // editor may take the focus after the first key
        const lastLine = original.split("\n").length;
        await waitUntil(`the cursor is on line ${lastLine}`, async () => {
            await page.keyboard.press("Control+End");
            return (await page.locator(".statusbar").innerText()).includes(`Ln ${lastLine},`);
        });
        await page.keyboard.press("Enter");
        await page.keyboard.press("Enter");

        const {code, button} = await codeAction(chat.locator(".message.assistant").nth(0), "insert");
        assert.match(code, /def scale_prices\(/);
        await button.click();
        await waitUntil("the inserted code appears in the editor", async () => /def\s+scale_prices\(/.test((await editor.locator(".view-lines").innerText()).replace(/\u00a0/g, " ")));
        await screenshot(page, "insert");
        await runPaletteCommand(page, "File: Save All");
        // VS Code truncates the file before it writes it: a read in between sees an empty file, so wait for the code
        await waitUntil("the file on disk has the inserted code", async () => fs.readFileSync(file, "utf8").includes(code.trim()));
        const saved = fs.readFileSync(file, "utf8");
        assert.ok(saved.startsWith(original), "the text before the cursor is unchanged");
        assert.equal(saved.slice(original.length).trim(), code.trim(), "the code is inserted where the cursor was (after the last line)");
        await waitUntil("the first answer's log is marked accepted", async () => await outcomeOf(firstLogId) === "accepted");
    });

    it("Apply to file shows the diff; accepting it changes the file on disk and marks the log accepted", async function () {
        await chat.locator("#new-chat").click();
        await waitUntil("New Chat clears the conversation", async () => await chat.locator(".message").count() === 0, 10_000);
        const message = await ask(APPLY_REQUEST, 0);
        const logId = await message.getAttribute("data-log-id") ?? assert.fail("the answer has no log id");
        await openFile(page, APPLY_FILE);
        const {code, button} = await codeAction(message, "apply");
        assert.match(code, /def add\(/);
        await button.click();

        await page.locator(".monaco-diff-editor").first().waitFor({timeout: 20_000});
        await page.locator(".tab", {hasText: "Hindsight's proposal"}).first().waitFor({timeout: 10_000});
        const question = `Apply Hindsight's change to ${APPLY_FILE}?`;
        let toast = page.locator(".notification-toast", {hasText: question});
        // the toast shows the question unless the notification centre took it (a toast hidden under load)
        if (!await toast.first().waitFor({timeout: 5_000}).then(() => true, () => false)) {
            await runPaletteCommand(page, "Notifications: Show Notifications");
            toast = page.locator(".notifications-center .notification-list-item", {hasText: question});
        }
        await toast.first().waitFor({timeout: 10_000});
        await screenshot(page, "apply");
        assert.equal(fs.readFileSync(path.join(s.workspace, APPLY_FILE), "utf8"), APPLY_FILE_TEXT, "nothing is written before Apply");
        await toast.first().locator(".monaco-button", {hasText: /^Apply$/}).click();

        await waitUntil("the answer's log is marked accepted", async () => await outcomeOf(logId) === "accepted");
        await runPaletteCommand(page, "File: Save All");
        const file = path.join(s.workspace, APPLY_FILE);
        await waitUntil("the file on disk is the proposal", async () => fs.readFileSync(file, "utf8").includes(code.trim()));
        assert.equal(fs.readFileSync(file, "utf8").trimEnd(), code.trimEnd(), "with nothing selected the whole file is replaced by the code");
    });

    it("the walkthrough opens from the palette and its buttons run their commands", async function () {
        await runPaletteCommand(page, "Welcome: Open Walkthrough...");
        const input = page.locator(".quick-input-widget input");
        await input.fill("Get started with Hindsight");
        await page.locator(".quick-input-list .monaco-list-row", {hasText: "Get started with Hindsight"}).first().waitFor({timeout: 15_000});
        await page.keyboard.press("Enter");
        const step = (id: string) => page.locator(`.getting-started-step[data-step-id$="#${id}"]`);
        await step("reuse").waitFor({timeout: 20_000});

        await step("reuse").click();
        await step("reuse").getByText("Show Memory", {exact: true}).click();
        // Show Memory reveals the Memory view with this s.workspace's sessions
        await page.locator(".pane-body .monaco-list-row", {hasText: "scale_prices"}).first().waitFor({timeout: 20_000});
        await waitUntil("the reuse step is checked", async () => await step("reuse").getAttribute("aria-checked") === "true", 10_000);

        const before = await storeOf((store) => store.countLogs());
        await step("forget").click();
        await step("forget").getByText("Forget Last Session", {exact: true}).click();
        await waitUntil("Forget Last Session removed a log from the store", async () => await storeOf((store) => store.countLogs()) === before - 1);
        await waitUntil("the forget step is checked", async () => await step("forget").getAttribute("aria-checked") === "true", 10_000);
        await screenshot(page, "walkthrough");
    });
});
