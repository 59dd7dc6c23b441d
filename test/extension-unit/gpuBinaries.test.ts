// The GPU binaries of a VSIX (src/extension/gpuBinaries.ts) and EngineHost's GPU checks, without a GPU and without
// the network: "auto" on a machine without a GPU downloads nothing and runs on the CPU, a GPU named in the setting
// that the machine lacks is one clear error with the next step, and a package is verified against its pinned
// sha512, unpacked and linked where node-llama-cpp's own `import("@node-llama-cpp/...")` finds it. The tarballs
// here are made by the test and handed to a fake `fetch`: nothing is downloaded from anywhere.
import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {fileURLToPath, pathToFileURL} from "node:url";
import * as tar from "tar";
import {EngineHost} from "../../src/extension/engineHost.js";
import {GpuBinaries, type GpuPackage, type GpuPackageTable, type GpuProgress} from "../../src/extension/gpuBinaries.js";
import {settingsFrom, type HostSettings} from "../../src/extension/settings.js";
import type {GpuChoice} from "../../src/engine/index.js";
import {supportedGpuBackends} from "../../src/engine/index.js";
import {realTestModel} from "../support/realModel.js";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const VERSION = "3.22.1";
const NAME = "@node-llama-cpp/linux-x64-vulkan";

function settings(values: Record<string, unknown>): HostSettings {
    const get = (key: string) => values[key];
    return settingsFrom({get, user: get}, {trusted: true, defaultStorageFolder: path.join(os.tmpdir(), "unused-store"), home: os.homedir()});
}

/** A tarball shaped like node-llama-cpp's prebuilt packages (package/{package.json, dist/index.js, bins/...}). */
async function fakePackageTarball(dir: string, version = VERSION): Promise<{file: string, integrity: string}> {
    const src = path.join(dir, "src");
    fs.mkdirSync(path.join(src, "package", "dist"), {recursive: true});
    fs.mkdirSync(path.join(src, "package", "bins", "linux-x64-vulkan"), {recursive: true});
    fs.writeFileSync(path.join(src, "package", "package.json"), JSON.stringify({name: NAME, version, type: "module", main: "dist/index.js"}));
    // the real packages' index.js, in short: where bins/ is and the package's version
    fs.writeFileSync(path.join(src, "package", "dist", "index.js"), [
        'import path from "node:path"; import {fileURLToPath} from "node:url"; import fs from "node:fs";',
        "const dir = path.dirname(fileURLToPath(import.meta.url));",
        'const packageVersion = JSON.parse(fs.readFileSync(path.join(dir, "..", "package.json"), "utf8")).version;',
        'export function getBinsDir() { return {binsDir: path.join(dir, "..", "bins"), packageVersion}; }'
    ].join("\n"));
    fs.writeFileSync(path.join(src, "package", "bins", "linux-x64-vulkan", "_nlcBuildMetadata.json"), "{}");
    const file = path.join(dir, "package.tgz");
    await tar.c({gzip: true, cwd: src, file, portable: true}, ["package"]);
    return {file, integrity: `sha512-${crypto.createHash("sha512").update(fs.readFileSync(file)).digest("base64")}`};
}

function table(pkg: Partial<GpuPackage> = {}): GpuPackageTable {
    return {nodeLlamaCpp: VERSION, targets: {"linux-x64": [
        {backend: "cuda", name: "@node-llama-cpp/linux-x64-cuda", version: VERSION, integrity: "sha512-AAAA", tarball: "https://registry.npmjs.org/@node-llama-cpp/linux-x64-cuda/-/linux-x64-cuda-3.22.1.tgz"},
        {backend: "vulkan", name: NAME, version: VERSION, integrity: "sha512-AAAA", tarball: "https://registry.npmjs.org/@node-llama-cpp/linux-x64-vulkan/-/linux-x64-vulkan-3.22.1.tgz", ...pkg}
    ]}};
}

/** A `fetch` that fails the test when called. */
const noFetch: typeof fetch = () => {
    throw new Error("fetch was called: nothing may be downloaded here");
};

const progress = (runs: string[]): GpuProgress => ({run: async (pkg, task) => {
    runs.push(pkg.name);
    return await task(() => undefined, new AbortController().signal);
}});

describe("GPU binaries for a VSIX that ships the CPU build", function () {
    let dir: string;
    let ext: string;
    let storage: string;
    const lines: string[] = [];
    const binaries = (options: {fetch?: typeof fetch, table?: GpuPackageTable | null} = {}) => new GpuBinaries({
        extensionPath: ext, storageDir: storage, table: options.table === undefined ? table() : options.table,
        target: "linux-x64", fetch: options.fetch ?? noFetch, log: (line) => lines.push(line)
    });

    beforeEach(function () {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "hs-gpu-"));
        ext = path.join(dir, "extension");
        storage = path.join(dir, "globalStorage", "gpu");
        // the VSIX layout: node-llama-cpp and its CPU prebuilt under the extension's node_modules
        fs.mkdirSync(path.join(ext, "node_modules", "node-llama-cpp", "dist", "bindings", "utils"), {recursive: true});
        fs.writeFileSync(path.join(ext, "node_modules", "node-llama-cpp", "package.json"), JSON.stringify({name: "node-llama-cpp", version: VERSION, type: "module"}));
        fs.mkdirSync(path.join(ext, "node_modules", "@node-llama-cpp", "linux-x64"), {recursive: true});
        lines.length = 0;
    });

    afterEach(function () {
        fs.rmSync(dir, {recursive: true, force: true});
    });

    it('"auto" without a GPU, and "cpu", download nothing and leave the CPU build', async function () {
        const runs: string[] = [];
        for (const setting of ["auto", "cpu"] as GpuChoice[])
            assert.deepEqual(await binaries().prepare(setting, [], progress(runs)), {backend: null, downloaded: false, problem: undefined});
        assert.deepEqual(await binaries().prepare("cpu", ["cuda", "vulkan"], progress(runs)), {backend: null, downloaded: false, problem: undefined});
        assert.deepEqual(runs, []);
        assert.equal(fs.existsSync(storage), false, "nothing was written to globalStorage");
        assert.deepEqual(fs.readdirSync(path.join(ext, "node_modules", "@node-llama-cpp")), ["linux-x64"]);
    });

    it("an installed package (a development checkout has them all) is used as it is", async function () {
        const installed = path.join(ext, "node_modules", "@node-llama-cpp", "linux-x64-vulkan");
        fs.mkdirSync(installed);
        fs.writeFileSync(path.join(installed, "package.json"), JSON.stringify({name: NAME, version: VERSION}));
        const runs: string[] = [];
        assert.deepEqual(await binaries().prepare("auto", ["vulkan"], progress(runs)), {backend: "vulkan", downloaded: false});
        assert.deepEqual(runs, []);
    });

    it("downloads a supported GPU's package once, checks its sha512, and node-llama-cpp's import finds it", async function () {
        const {file, integrity} = await fakePackageTarball(dir);
        const urls: string[] = [];
        const fetchTarball: typeof fetch = async (url) => {
            urls.push(url instanceof Request ? url.url : url.toString());
            return new Response(fs.readFileSync(file), {headers: {"content-length": String(fs.statSync(file).size)}});
        };
        const runs: string[] = [];
        const result = await binaries({fetch: fetchTarball, table: table({integrity})}).prepare("auto", ["vulkan"], progress(runs));
        assert.deepEqual(result, {backend: "vulkan", downloaded: true});
        assert.deepEqual(runs, [NAME], "one progress notification");
        assert.deepEqual(urls, ["https://registry.npmjs.org/@node-llama-cpp/linux-x64-vulkan/-/linux-x64-vulkan-3.22.1.tgz"]);
        const kept = path.join(storage, `@node-llama-cpp+linux-x64-vulkan@${VERSION}`);
        assert.ok(fs.existsSync(path.join(kept, "bins", "linux-x64-vulkan", "_nlcBuildMetadata.json")), "unpacked into globalStorage");

        // the same bare import node-llama-cpp makes from its dist/bindings/utils/compileLLamaCpp.js
        const probe = path.join(ext, "node_modules", "node-llama-cpp", "dist", "bindings", "utils", "probe.js");
        fs.writeFileSync(probe, `export const load = () => import("${NAME}");\n`);
        const probeModule = await import(pathToFileURL(probe).href) as {load(): Promise<{getBinsDir(): {binsDir: string, packageVersion: string}}>};
        const {binsDir, packageVersion} = (await probeModule.load()).getBinsDir();
        assert.equal(packageVersion, VERSION, "node-llama-cpp accepts only a package of its own version");
        assert.equal(fs.realpathSync(binsDir), fs.realpathSync(path.join(kept, "bins")));

        // the next start finds it installed and downloads nothing
        assert.deepEqual(await binaries().prepare("auto", ["vulkan"], progress(runs)), {backend: "vulkan", downloaded: false});
        assert.deepEqual(urls.length, 1);
    });

    it("a tarball that does not match its pinned sha512 is not installed", async function () {
        const {file} = await fakePackageTarball(dir);
        const other = `sha512-${crypto.createHash("sha512").update("something else").digest("base64")}`;
        const fetchTarball: typeof fetch = async () => new Response(fs.readFileSync(file));
        const tampered = binaries({fetch: fetchTarball, table: table({integrity: other})});
        await assert.rejects(tampered.prepare("vulkan", ["vulkan"], progress([])), (err: Error & {code?: string}) => {
            assert.equal(err.code, "GPU_UNAVAILABLE");
            assert.match(err.message, /does not match its pinned sha512/);
            assert.match(err.message, /set hindsight\.gpu to "auto" or "cpu"|not installed/);
            return true;
        });
        // with "auto" the CPU is used and the reason is given
        const auto = await tampered.prepare("auto", ["vulkan"], progress([]));
        assert.equal(auto.backend, null);
        assert.match(auto.problem ?? "", /vulkan build of llama\.cpp could not be installed .*does not match/);
        assert.equal(fs.existsSync(path.join(ext, "node_modules", "@node-llama-cpp", "linux-x64-vulkan")), false, "nothing linked");
        assert.deepEqual(fs.readdirSync(storage), [], "nothing kept in globalStorage");
    });

    it("the pinned table the build writes names the lock's versions and sha512s, from the npm registry", function () {
        const built = JSON.parse(fs.readFileSync(path.join(repoRoot, "dist", "gpu-packages.json"), "utf8")) as GpuPackageTable;
        const lock = JSON.parse(fs.readFileSync(path.join(repoRoot, "package-lock.json"), "utf8")) as {packages: Record<string, {version: string, integrity?: string}>};
        assert.equal(built.nodeLlamaCpp, lock.packages["node_modules/node-llama-cpp"]!.version);
        assert.deepEqual(built.targets["linux-x64"]!.map((p) => p.backend), ["cuda", "vulkan"]);
        for (const pkg of built.targets["linux-x64"]!) {
            const locked = lock.packages[`node_modules/${pkg.name}`]!;
            assert.equal(pkg.version, locked.version);
            assert.equal(pkg.integrity, locked.integrity);
            assert.match(pkg.integrity, /^sha512-/);
            assert.ok(pkg.tarball.startsWith(`https://registry.npmjs.org/${pkg.name}/-/`), pkg.tarball);
        }
    });
});

describe("EngineHost's GPU checks before the model loads", function () {
    let dir: string;

    beforeEach(function () {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "hs-gpu-host-"));
    });

    afterEach(function () {
        fs.rmSync(dir, {recursive: true, force: true});
    });

    it('gpu "cuda" on a machine without one: one error naming the setting and the next step; nothing prepared', async function () {
        const prepared: string[] = [];
        const host = new EngineHost(() => settings({modelPath: path.join(dir, "model.gguf"), storageFolder: path.join(dir, "store"), gpu: "cuda"}), () => undefined,
            {detect: async () => [], prepare: async (setting) => void prepared.push(setting)});
        try {
            await assert.rejects(host.ready(), (err: Error & {code?: string}) => {
                assert.equal(err.code, "GPU_UNAVAILABLE");
                assert.match(err.message, /^hindsight\.gpu is "cuda", but this machine has no CUDA GPU: it needs an NVIDIA driver and the CUDA 12 runtime/);
                assert.match(err.message, /Install that, or set hindsight\.gpu to "auto" \(a GPU when there is one, else the CPU\) or "cpu"\.$/);
                return true;
            });
            assert.deepEqual(prepared, []);
            assert.equal(host.status.state, "error");
            assert.match(host.status.error ?? "", /hindsight\.gpu is "cuda"/);
        } finally {
            await host.dispose();
        }
    });

    it('gpu "auto" without a GPU hands an empty list to the GPU step, which downloads nothing', async function () {
        const ext = path.join(dir, "extension");
        fs.mkdirSync(ext);
        const gpu = new GpuBinaries({extensionPath: ext, storageDir: path.join(dir, "gpu"), table: table(), target: "linux-x64", fetch: noFetch, log: () => undefined});
        const seen: unknown[] = [];
        const host = new EngineHost(() => settings({modelPath: path.join(dir, "missing.gguf"), storageFolder: path.join(dir, "store"), gpu: "auto"}), () => undefined,
            {detect: async () => [], prepare: async (setting, supported) => {
                seen.push(await gpu.prepare(setting, supported, progress([])));
            }});
        try {
            // no model file here: the load stops at MODEL_NOT_FOUND, after the GPU step
            await assert.rejects(host.ready(), {code: "MODEL_NOT_FOUND"});
            assert.deepEqual(seen, [{backend: null, downloaded: false, problem: undefined}]);
            assert.equal(fs.existsSync(path.join(dir, "gpu")), false);
        } finally {
            await host.dispose();
        }
    });
});

describe("EngineHost with gpu auto on the real model @model", function () {
    this.timeout(300_000);

    it("loads on the CPU where no GPU is found, with nothing downloaded, and says which backend it uses", async function () {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hs-gpu-real-"));
        const ext = path.join(dir, "extension");
        fs.mkdirSync(ext);
        const gpu = new GpuBinaries({extensionPath: ext, storageDir: path.join(dir, "gpu"), table: table(), target: "linux-x64", fetch: noFetch, log: () => undefined});
        const supportedHere = await supportedGpuBackends();
        const model = await realTestModel();
        const host = new EngineHost(() => settings({modelPath: model, storageFolder: path.join(dir, "store"), gpu: "auto", threads: 1}), () => undefined,
            {prepare: async (setting, supported) => {
                await gpu.prepare(setting, supported, progress([]));
            }});
        try {
            await host.ready();
            assert.equal(host.status.state, "ready");
            if (supportedHere.length === 0) {
                // this machine: no GPU, so the CPU, and the GPU step downloaded nothing (its fetch fails the test if called)
                assert.equal(host.status.device, "cpu");
                assert.equal(fs.existsSync(path.join(dir, "gpu")), false, "nothing downloaded");
            } else
                assert.ok(["cpu", ...supportedHere].includes(host.status.device ?? ""), `device ${host.status.device} is the CPU or one of ${supportedHere.join(", ")}`);
        } finally {
            await host.dispose();
            fs.rmSync(dir, {recursive: true, force: true});
        }
    });
});
