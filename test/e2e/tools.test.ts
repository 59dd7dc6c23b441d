// Model-free checks of the e2e tools: a missing tool is a failure that names the install command, and the
// shim parses the arguments @vscode/test-electron passes.
import assert from "node:assert/strict";
import {spawnSync} from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {repoRoot} from "./harness.js";

describe("e2e tools", function () {
    this.timeout(60_000);

    it("reports missing tools with the command that installs them", function () {
        const empty = fs.mkdtempSync(path.join(os.tmpdir(), "hindsight-no-tools-"));
        try {
            const r = spawnSync(process.execPath, [path.join(repoRoot, "scripts", "e2e", "tools.mjs"), "check"], {
                encoding: "utf8", env: {...process.env, HINDSIGHT_TOOLS_DIR: empty}
            });
            assert.equal(r.status, 1);
            assert.match(r.stderr, /need Node 24, code-server/);
            assert.match(r.stderr, /npm run e2e:setup/);
        } finally {
            fs.rmSync(empty, {recursive: true, force: true});
        }
    });

    it("the VS Code shim refuses to run without a test suite", function () {
        const r = spawnSync(process.execPath, [path.join(repoRoot, "scripts", "e2e", "vscode-shim.mjs"), "--no-sandbox", "--disable-updates"], {encoding: "utf8"});
        assert.equal(r.status, 64);
        assert.match(r.stderr, /--extensionDevelopmentPath=DIR --extensionTestsPath=FILE/);
    });
});
