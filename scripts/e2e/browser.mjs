// Headless Chromium through playwright-core, with the flags that work on these machines (E2E.md):
// no sandbox (root in a container), no GPU, no background network or updates.
import {chromium} from "playwright-core";
import {requireTools} from "./tools.mjs";

export const chromiumArgs = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic"
];

/**
 * Launches the browser. The caller closes it.
 * @param {{headless?: boolean}} [options] headless: false shows the window (needs a display). Defaults to true.
 */
export async function launchBrowser({headless = true} = {}) {
    const {chromium: executablePath} = requireTools({browser: true});
    return await chromium.launch({
        executablePath,
        headless,
        args: headless ? chromiumArgs : chromiumArgs.filter((a) => a !== "--headless")
    });
}
