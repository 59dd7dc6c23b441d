// Packaging: `npm run package` makes a linux-x64 VSIX of at most 120 MB holding what the extension needs at run
// time (and no other platform's binaries); it installs into a fresh code-server and there the installed
// extension activates and answers with the real model (test/e2e/suite/smoke.ts).
import assert from "node:assert/strict";
import {spawnSync} from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {readZipEntries} from "../../src/engine/models/zipEntries.js";
import {realTestModel} from "../support/realModel.js";
import {assertExtensionBuilt, buildSuites, extensionSettings, repoRoot, requireTools, resultsDir, runExtensionTests, sampleWorkspace} from "./harness.js";

const MAX_BYTES = 120 * 1000 * 1000;

describe("VSIX packaging (linux-x64) @model", function () {
    this.timeout(15 * 60_000);
    const vsix = path.join(resultsDir, "vsix", "hindsight-linux-x64.vsix");
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "hindsight-vsix-"));
    const extensionsDir = path.join(scratch, "extensions");

    after(function () {
        fs.rmSync(scratch, {recursive: true, force: true});
    });

    it("packages a VSIX of at most 120 MB with the native modules for linux-x64 only", async function () {
        await requireTools();
        assertExtensionBuilt();
        fs.rmSync(vsix, {force: true});
        const r = spawnSync(process.execPath, [path.join(repoRoot, "scripts", "package.mjs"), "--no-build", "--out", vsix], {cwd: repoRoot, encoding: "utf8"});
        assert.equal(r.status, 0, `npm run package failed:\n${r.stdout}\n${r.stderr}`);
        const bytes = fs.statSync(vsix).size;
        console.log(`      VSIX: ${vsix}, ${(bytes / 2 ** 20).toFixed(1)} MiB`);
        assert.ok(bytes <= MAX_BYTES, `the VSIX is ${bytes} bytes, over ${MAX_BYTES}`);
        const names = (await readZipEntries(vsix)).map((e) => e.name);
        for (const needed of [
            "extension/package.json",
            "extension/dist/extension.cjs",
            // the pinned GPU packages a VSIX user's machine may fetch on first use (src/extension/gpuBinaries.ts)
            "extension/dist/gpu-packages.json",
            "extension/node_modules/node-llama-cpp/package.json",
            "extension/node_modules/@node-llama-cpp/linux-x64/package.json",
            "extension/node_modules/@lancedb/lancedb/package.json",
            "extension/node_modules/@lancedb/lancedb-linux-x64-gnu/package.json",
            "extension/node_modules/apache-arrow/package.json"
        ])
            assert.ok(names.includes(needed), `the VSIX lacks ${needed}`);
        assert.ok(names.some((n) => n.startsWith("extension/dist/webview/")), "the VSIX has the built webview");
        assert.ok(names.some((n) => /^extension\/node_modules\/@node-llama-cpp\/linux-x64\/bins\/.*\.node$/.test(n)), "llama.cpp's addon for linux-x64");
        assert.ok(names.some((n) => /^extension\/node_modules\/@lancedb\/lancedb-linux-x64-gnu\/.*\.node$/.test(n)), "LanceDB's addon for linux-x64");
        for (const unwanted of [/@node-llama-cpp\/linux-x64-cuda/, /@node-llama-cpp\/linux-x64-vulkan/, /@node-llama-cpp\/linux-arm/, /gitRelease\.bundle/,
            /^extension\/(src|test|out|scripts|webview)\//, /^extension\/dist\/test\//, /\.gguf$/])
            assert.ok(!names.some((n) => unwanted.test(n)), `the VSIX holds ${names.find((n) => unwanted.test(n))}`);
    });

    it("installs into a fresh code-server, activates and answers", async function () {
        const tools = await requireTools();
        assert.ok(fs.existsSync(vsix), "the previous test made the VSIX");
        const install = spawnSync(tools.node24, [tools.codeServerEntry, "--extensions-dir", extensionsDir, "--user-data-dir", path.join(scratch, "user-data"),
            "--install-extension", vsix], {encoding: "utf8", env: {...process.env, TMPDIR: scratch}});
        assert.equal(install.status, 0, `code-server --install-extension failed:\n${install.stdout}\n${install.stderr}`);
        assert.ok(fs.readdirSync(extensionsDir).some((d) => d.startsWith("hindsight-dev.hindsight-")), "installed into the extensions folder");

        const {smoke} = await buildSuites();
        const model = await realTestModel();
        const storage = path.join(scratch, "store");
        const workspace = sampleWorkspace();
        const lines: string[] = [];
        try {
            const code = await runExtensionTests({
                extensionDevelopmentPath: path.join(repoRoot, "test", "e2e", "fixtures", "smoke-host"),
                extensionTestsPath: smoke,
                workspace,
                extensionsDir,
                userSettings: extensionSettings(model, storage),
                env: {HINDSIGHT_TEST_MODEL: model, HINDSIGHT_E2E_EXTENSIONS_DIR: extensionsDir},
                log: (line) => { lines.push(line); console.log(`      | ${line}`); }
            });
            assert.equal(code, 0, `the installed extension failed its smoke test (exit ${code}):\n${lines.slice(-40).join("\n")}`);
        } finally {
            fs.rmSync(workspace, {recursive: true, force: true});
        }
    });
});
