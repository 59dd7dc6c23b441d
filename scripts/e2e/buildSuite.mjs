// Bundles the extension-host test suites (test/e2e/suite/*.ts) into CommonJS files the extension host can
// `require` as extensionTestsPath: dist/test/suite/index.cjs (the extension's integration tests) and
// dist/test/suite/smoke.cjs (checks an installed VSIX). `vscode` and `mocha` stay external (mocha from node_modules).
import {build} from "esbuild";
import path from "node:path";
import {fileURLToPath} from "node:url";

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
export const suiteDir = path.join(repoRoot, "dist", "test", "suite");

/** Builds the suites; returns their paths. */
export async function buildSuites() {
    const entries = {index: "test/e2e/suite/index.ts", smoke: "test/e2e/suite/smoke.ts"};
    await build({
        absWorkingDir: repoRoot,
        entryPoints: entries,
        outdir: suiteDir,
        outExtension: {".js": ".cjs"},
        bundle: true,
        platform: "node",
        format: "cjs",
        target: "node20",
        sourcemap: "inline",
        external: ["vscode", "mocha"],
        logLevel: "warning"
    });
    return {index: path.join(suiteDir, "index.cjs"), smoke: path.join(suiteDir, "smoke.cjs")};
}

if (process.argv[1] != null && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url))
    console.log(JSON.stringify(await buildSuites(), null, 2));
