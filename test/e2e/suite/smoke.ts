// Extension-host entry for the packaging check: the Hindsight extension is installed from the VSIX (not loaded
// from the repo), activates, and answers one request with the real model. The development extension that
// carries this suite is an empty stub (test/e2e/fixtures/smoke-host).
import assert from "node:assert/strict";
import Mocha from "mocha";
import * as vscode from "vscode";
import {asAskResult, asStatus} from "./hostTypes.js";
import {EXTENSION_ID} from "./commands.js";

export async function run(): Promise<void> {
    const mocha = new Mocha({ui: "bdd", color: false, timeout: 600_000, reporter: "spec"});
    mocha.suite.emit("pre-require", globalThis, "hindsight-smoke", mocha);
    describe("Hindsight installed from its VSIX @model", function () {
        it("activates from the extensions folder and answers", async function () {
            const ext = vscode.extensions.getExtension(EXTENSION_ID);
            assert.ok(ext, `${EXTENSION_ID} is not installed`);
            const expected = process.env.HINDSIGHT_E2E_EXTENSIONS_DIR;
            assert.ok(expected != null && ext.extensionPath.startsWith(expected), `${ext.extensionPath} is under the extensions folder ${expected}`);
            await ext.activate();
            const r = asAskResult(await vscode.commands.executeCommand("hindsight.ask", {request: "What does parse_line in inventory.py return?"}), "hindsight.ask");
            assert.ok(r.answer.trim().length > 0);
            assert.ok(r.logId != null);
            assert.equal(asStatus(await vscode.commands.executeCommand("hindsight.status")).state, "ready");
        });
    });
    const failures = await new Promise<number>((resolve) => mocha.run(resolve));
    if (failures > 0)
        throw new Error(`${failures} smoke test(s) failed.`);
}
