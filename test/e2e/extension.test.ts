// Runs test/e2e/suite (the extension's integration tests) inside the extension host of real VS Code
// (code-server), as @vscode/test-electron would, and asserts the suite's exit code.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {realTestModel} from "../support/realModel.js";
import {assertExtensionBuilt, buildSuites, extensionSettings, repoRoot, requireTools, resultsDir, runExtensionTests, sampleWorkspace} from "./harness.js";

describe("extension integration tests in code-server (real VS Code) @model", function () {
    this.timeout(15 * 60_000);

    it("the suite in the extension host passes", async function () {
        await requireTools();
        assertExtensionBuilt();
        const {index} = await buildSuites();
        const model = await realTestModel();
        const storage = fs.mkdtempSync(path.join(os.tmpdir(), "hindsight-e2e-store-"));
        const workspace = sampleWorkspace();
        const lines: string[] = [];
        try {
            const code = await runExtensionTests({
                extensionDevelopmentPath: repoRoot,
                extensionTestsPath: index,
                workspace,
                userSettings: extensionSettings(model, storage),
                env: {HINDSIGHT_TEST_MODEL: model, HINDSIGHT_E2E_STORAGE: storage},
                screenshot: path.join(resultsDir, "screenshots", "extension-tests-end.png"),
                log: (line) => { lines.push(line); console.log(`      | ${line}`); }
            });
            assert.equal(code, 0, `the extension-host suite exited with ${code}:\n${lines.slice(-60).join("\n")}`);
            assert.ok(lines.some((l) => /\d+ passing/.test(l)), "the suite reported its passing tests");
        } finally {
            fs.rmSync(storage, {recursive: true, force: true});
            fs.rmSync(workspace, {recursive: true, force: true});
        }
    });
});
