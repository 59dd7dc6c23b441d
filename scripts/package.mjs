// `npm run package [-- --target T]`: builds and packages the extension as a platform-specific VSIX in artifacts/.
// A VSIX carries native code (node-llama-cpp's llama.cpp binaries, LanceDB), so there is one per target; each
// keeps only its own @node-llama-cpp/* prebuilt and @lancedb/lancedb-* package. .vscodeignore is written for
// linux-x64; for another target this script writes a derived ignore file. That target's native packages must be
// in node_modules first (npm installs only the host's): the error says which to install.
import {spawnSync} from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {fileURLToPath} from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** Per VS Code target: the node-llama-cpp prebuilt (CPU or Metal) and the LanceDB native package it needs. */
export const targets = {
    "linux-x64": {llama: "linux-x64", lance: "lancedb-linux-x64-gnu"},
    "linux-arm64": {llama: "linux-arm64", lance: "lancedb-linux-arm64-gnu"},
    "darwin-arm64": {llama: "mac-arm64-metal", lance: "lancedb-darwin-arm64"},
    "win32-x64": {llama: "win-x64", lance: "lancedb-win32-x64-msvc"}
};

function arg(name, fallback) {
    const i = process.argv.indexOf(`--${name}`);
    return i >= 0 ? process.argv[i + 1] : fallback;
}

const target = arg("target", "linux-x64");
const spec = targets[target];
if (spec == null) {
    console.error(`Unknown target ${target}; known: ${Object.keys(targets).join(", ")}.`);
    process.exit(64);
}
const version = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")).version;
const out = path.resolve(arg("out", path.join(root, "artifacts", `hindsight-${target}-${version}.vsix`)));

const missing = [`@node-llama-cpp/${spec.llama}`, `@lancedb/${spec.lance}`].filter((p) => !fs.existsSync(path.join(root, "node_modules", p, "package.json")));
if (missing.length > 0) {
    const versionOf = (p) => JSON.parse(fs.readFileSync(path.join(root, "node_modules", p, "package.json"), "utf8")).version;
    const pins = [`@node-llama-cpp/${spec.llama}@${versionOf("node-llama-cpp")}`, `@lancedb/${spec.lance}@${versionOf("@lancedb/lancedb")}`];
    console.error(`Packaging for ${target} needs ${missing.join(" and ")} in node_modules. Install them without saving, e.g.\n` +
        `  npm install --no-save --force ${pins.join(" ")}\nthen run this again.`);
    process.exit(1);
}

const run = (cmd, args) => {
    console.error(`$ ${cmd} ${args.join(" ")}`);
    const r = spawnSync(cmd, args, {cwd: root, stdio: "inherit"});
    if (r.status !== 0)
        process.exit(r.status ?? 1);
};

if (!process.argv.includes("--no-build"))
    run("npm", ["run", "build"]);

// The GPU builds stay out of the VSIX (CUDA's tarball is 136 MiB, Vulkan's 23 MiB, against 10 MiB for the CPU
// one): the build pins them in dist/gpu-packages.json and the extension fetches the one a machine can use.
const gpuTable = JSON.parse(fs.readFileSync(path.join(root, "dist", "gpu-packages.json"), "utf8"));
console.error(`GPU builds fetched on first use for ${target}: ${(gpuTable.targets[target] ?? []).map((p) => `${p.name}@${p.version}`).join(", ") || "none"}`);

let ignoreFile = path.join(root, ".vscodeignore");
if (target !== "linux-x64") {
    const base = fs.readFileSync(ignoreFile, "utf8")
        .replace("!node_modules/@node-llama-cpp/linux-x64/**", `!node_modules/@node-llama-cpp/${spec.llama}/**`)
        .replace("!node_modules/@lancedb/lancedb-linux-x64-gnu/**", `!node_modules/@lancedb/${spec.lance}/**`);
    ignoreFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "hindsight-vsce-")), ".vscodeignore");
    fs.writeFileSync(ignoreFile, base);
}
fs.mkdirSync(path.dirname(out), {recursive: true});
const started = Date.now();
run("npx", ["vsce", "package", "--target", target, "--ignoreFile", ignoreFile, "--out", out,
    "--allow-missing-repository", "--skip-license", "--no-rewrite-relative-links"]);
const bytes = fs.statSync(out).size;
console.log(JSON.stringify({target, vsix: out, bytes, megabytes: Number((bytes / 2 ** 20).toFixed(1)), seconds: (Date.now() - started) / 1000}));
