// Small helpers that drive the VS Code workbench (code-server) in a Playwright page: the command palette,
// quick open, the Hindsight webview's frame, notifications and screenshots.
import fs from "node:fs";
import path from "node:path";
import type {FrameLocator, Locator, Page} from "playwright-core";
import {resultsDir} from "./harness.js";

export const screenshotsDir = path.join(resultsDir, "screenshots");

/** Waits for the workbench to be interactive. */
export async function waitForWorkbench(page: Page): Promise<void> {
    await page.locator(".monaco-workbench").waitFor({timeout: 90_000});
    await page.locator(".activitybar").waitFor({timeout: 90_000});
}

/**
 * Opens the quick input with `key` and waits for its box. A key can be lost: right after a modal, a diff editor or a
 * notification appears, the focus may sit in a frame or on an element that no longer exists. Then the focus goes back
 * to the workbench's own document and the key is pressed again (three tries, then the last error).
 */
async function openQuickInput(page: Page, key: string): Promise<Locator> {
    const input = page.locator(".quick-input-widget input");
    for (let attempt = 1; ; attempt++) {
        await page.keyboard.press(key);
        try {
            await input.waitFor({timeout: 10_000});
            return input;
        } catch (err) {
            if (attempt === 3) throw err;
            await page.evaluate(() => {
                (document.activeElement as HTMLElement | null)?.blur();
                window.focus();
            });
        }
    }
}

/** Runs a command by its palette title (F1, type, Enter). */
export async function runPaletteCommand(page: Page, title: string): Promise<void> {
    const input = await openQuickInput(page, "F1");
    await input.fill(`>${title}`);
    const row = page.locator(".quick-input-list .monaco-list-row", {hasText: title}).first();
    await row.waitFor({timeout: 15_000});
    await page.keyboard.press("Enter");
}

/** Opens a workspace file through quick open. */
export async function openFile(page: Page, name: string): Promise<void> {
    const input = await openQuickInput(page, "F1");
    await input.fill(name);
    await page.locator(".quick-input-list .monaco-list-row", {hasText: name}).first().waitFor({timeout: 15_000});
    await page.keyboard.press("Enter");
    await page.locator(`.tab[aria-label^="${name}"]`).first().waitFor({timeout: 15_000});
}

/**
 * The document inside a webview view: VS Code nests it in two iframes (the host frame, then #active-frame).
 * `marker` is a selector that only that view's document has.
 */
export async function webviewFrame(page: Page, marker: string, timeoutMs = 60_000): Promise<FrameLocator> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
        const hosts = page.locator("iframe.webview");
        const n = await hosts.count();
        for (let i = 0; i < n; i++) {
            const inner = hosts.nth(i).contentFrame().locator("iframe#active-frame").contentFrame();
            if (await inner.locator(marker).count().catch(() => 0) > 0)
                return hosts.nth(i).contentFrame().frameLocator("iframe#active-frame");
        }
        await page.waitForTimeout(250);
    }
    throw new Error(`No webview with ${marker} appeared within ${timeoutMs} ms.`);
}

/** Saves a PNG of the page under test-results/screenshots and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
    fs.mkdirSync(screenshotsDir, {recursive: true});
    const file = path.join(screenshotsDir, `${name}.png`);
    await page.screenshot({path: file});
    return file;
}

/** The text of every notification toast, opening the notification centre when headless put them there. */
export async function notificationTexts(page: Page): Promise<string[]> {
    const toasts = page.locator(".notification-toast .notification-list-item-message");
    if (await toasts.count() === 0) {
        await runPaletteCommand(page, "Notifications: Show Notifications");
        await page.locator(".notifications-center").waitFor({timeout: 5000}).catch(() => undefined);
    }
    return await page.locator(".notification-list-item-message").allInnerTexts();
}
