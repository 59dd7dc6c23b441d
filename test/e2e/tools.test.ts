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

    it("the inner npm under Node 24 gets none of the outer npm's own variables (code-server's postinstall reads the user agent)", async function () {
        const tools = await import(path.join(repoRoot, "scripts", "e2e", "tools.mjs")) as {innerNpmEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv};
        const outer: NodeJS.ProcessEnv = {
            PATH: "/usr/bin", HOME: "/root",
            npm_config_user_agent: "npm/11.19.1 node/v20.20.2 linux x64 workspaces/false", npm_config_npm_version: "11.19.1",
            npm_config_node_gyp: "/usr/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js", npm_config_prefix: "/usr",
            npm_config_global_prefix: "/usr", npm_config_local_prefix: "/work/main", npm_command: "run-script",
            npm_execpath: "/usr/lib/node_modules/npm/bin/npm-cli.js", npm_node_execpath: "/usr/bin/node",
            npm_lifecycle_event: "e2e:setup", npm_lifecycle_script: "node scripts/e2e/tools.mjs install",
            npm_package_name: "hindsight", npm_package_json: "/work/main/package.json",
            npm_config_cache: "/root/.npm", npm_config_userconfig: "/root/.npmrc", npm_config_globalconfig: "/usr/etc/npmrc",
            npm_config_registry: "https://registry.example/", npm_config_cafile: "/etc/ssl/certs/ca.crt", NPM_CONFIG_HTTPS_PROXY: "http://proxy:3128"
        };
        const inner = tools.innerNpmEnv(outer);
        assert.deepEqual(Object.keys(inner).sort(), ["HOME", "NPM_CONFIG_HTTPS_PROXY", "PATH", "npm_config_cache", "npm_config_cafile",
            "npm_config_globalconfig", "npm_config_registry", "npm_config_userconfig"]);
        assert.equal(inner.npm_config_registry, "https://registry.example/");
    });

    it("the VS Code shim refuses to run without a test suite", function () {
        const r = spawnSync(process.execPath, [path.join(repoRoot, "scripts", "e2e", "vscode-shim.mjs"), "--no-sandbox", "--disable-updates"], {encoding: "utf8"});
        assert.equal(r.status, 64);
        assert.match(r.stderr, /--extensionDevelopmentPath=DIR --extensionTestsPath=FILE/);
    });
});
