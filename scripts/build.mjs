// Bundles with esbuild. Native packages stay external: they are loaded at run time from node_modules.
//   dist/cli.js           the CLI (ESM)
//   dist/extension.cjs    the VS Code extension host side (CJS, as VS Code 1.95 loads extensions with require)
//   dist/engine.mjs       the engine as an ES module, loaded by the extension with a real import() on first use,
//                         so node-llama-cpp (ESM-only) and LanceDB never load during activation
//   dist/webview/         the chat sidebar (browser IIFE + CSS + codicons)
import {execFileSync} from "node:child_process";
import {build} from "esbuild";
import fs from "node:fs/promises";
import path from "node:path";

const external = ["node-llama-cpp", "@lancedb/lancedb", "apache-arrow"];
const root = path.resolve(import.meta.dirname, "..");

/**
 * The Node ESM bundles (CLI, engine): natives stay external and load from node_modules. Bundled CommonJS packages
 * (yauzl, picomatch) call `require("fs")`; ESM has no `require`, so the banner gives them Node's own.
 */
const nodeEsm = {bundle: true, platform: "node", format: "esm", target: "node20", sourcemap: true, external, logLevel: "warning",
    banner: {js: 'import {createRequire as __createRequire} from "node:module"; const require = __createRequire(import.meta.url);'}};

await build({...nodeEsm, entryPoints: ["src/cli/main.ts"], outfile: "dist/cli.js"});
// the eval's Python grader, found next to the bundle at run time (src/eval/pythonGrader.ts)
await fs.copyFile("src/eval/grader.py", "dist/grader.py");

/**
 * The extension bundle may reach the engine only through `import("./engineModule.js")` (which becomes
 * `import("./engine.mjs")`); any other import of src/engine or of a native package (other than `import type`,
 * which esbuild erases) would load natives at activation, or break in CJS, so it fails the build.
 */
const lazyEngine = {
    name: "lazy-engine",
    setup(b) {
        b.onResolve({filter: /engineModule\.js$/}, (args) => {
            if (args.kind !== "dynamic-import")
                return {errors: [{text: `${args.importer}: engineModule may only be loaded with import() (it holds the natives).`}]};
            return {path: "./engine.mjs", external: true};
        });
        b.onResolve({filter: /^(node-llama-cpp|@lancedb\/lancedb|apache-arrow)$/}, (args) =>
            ({errors: [{text: `${args.importer} imports ${args.path}; the extension bundle must reach natives through the engine module.`}]}));
        b.onResolve({filter: /[\\/]engine[\\/]/}, (args) => {
            const target = path.resolve(args.resolveDir, args.path);
            // options.ts is pure data (no imports): the settings are checked against it at activation
            if (target.startsWith(path.join(root, "src", "engine")) && target !== path.join(root, "src", "engine", "options.js"))
                return {errors: [{text: `${args.importer} imports ${args.path}: use \`import type\`, or load it through engineModule.`}]};
            return undefined;
        });
    }
};

await build({
    entryPoints: ["src/extension/extension.ts"],
    outfile: "dist/extension.cjs",
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node20",
    sourcemap: true,
    external: ["vscode", ...external],
    plugins: [lazyEngine],
    logLevel: "warning"
});

await build({...nodeEsm, entryPoints: ["src/extension/engineModule.ts"], outfile: "dist/engine.mjs"});

// esbuild does not type-check, and the repo's tsconfig has no DOM types: check the webview with its own.
execFileSync(process.execPath, [path.join(root, "node_modules", "typescript", "bin", "tsc"), "-p", path.join(root, "webview")], {stdio: "inherit"});

await build({
    entryPoints: ["webview/main.ts"],
    outfile: "dist/webview/main.js",
    bundle: true,
    platform: "browser",
    format: "iife",
    target: "es2022",
    sourcemap: true,
    minify: true,
    logLevel: "warning"
});

await fs.copyFile("media/chat.css", "dist/webview/main.css");
await fs.mkdir("dist/webview/codicons", {recursive: true});
for (const file of ["codicon.css", "codicon.ttf"])
    await fs.copyFile(path.join("node_modules/@vscode/codicons/dist", file), path.join("dist/webview/codicons", file));

/**
 * dist/gpu-packages.json: node-llama-cpp's prebuilt GPU packages that a VSIX (which ships only the CPU build) may
 * fetch from the npm registry on first use, pinned to the node-llama-cpp version and the sha512 `integrity` in
 * package-lock.json (src/extension/gpuBinaries.ts refuses a tarball that does not match). The -cuda-ext package
 * (a 374 MB libggml-cuda for GPUs the main one does not cover) is left out.
 */
const lock = JSON.parse(await fs.readFile(path.join(root, "package-lock.json"), "utf8"));
const gpuTargets = {"linux-x64": [["cuda", "linux-x64-cuda"], ["vulkan", "linux-x64-vulkan"]]};
const nodeLlamaCpp = lock.packages["node_modules/node-llama-cpp"].version;
const gpuTable = {nodeLlamaCpp, targets: {}};
for (const [target, backends] of Object.entries(gpuTargets)) {
    gpuTable.targets[target] = backends.map(([backend, dir]) => {
        const entry = lock.packages[`node_modules/@node-llama-cpp/${dir}`];
        if (entry?.integrity == null || entry.version !== nodeLlamaCpp)
            throw new Error(`package-lock.json has no @node-llama-cpp/${dir}@${nodeLlamaCpp} with an integrity: run npm install.`);
        const name = `@node-llama-cpp/${dir}`;
        return {backend, name, version: entry.version, integrity: entry.integrity,
            tarball: entry.resolved ?? `https://registry.npmjs.org/${name}/-/${dir}-${entry.version}.tgz`};
    });
}
await fs.writeFile(path.join(root, "dist", "gpu-packages.json"), `${JSON.stringify(gpuTable, null, 2)}\n`);
