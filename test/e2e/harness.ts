// The mocha side of the real-VS-Code tests: typed access to the plain-JS tools in scripts/e2e (which run
// without a build, for `npm run e2e:setup` and `npm start`), plus the fixtures every e2e test needs.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {fileURLToPath, pathToFileURL} from "node:url";
import type {Browser} from "playwright-core";

/** The repository root (this file runs from out/test/e2e/). */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
/** Screenshots, VSIX files and logs of the e2e tests (gitignored). */
export const resultsDir = path.join(repoRoot, "test-results");

export interface Tools {
    node24: string;
    codeServerEntry: string;
    chromium: string;
}

export interface CodeServer {
    port: number;
    baseUrl: string;
    url: string;
    runDir: string;
    dirs: {userData: string, extensions: string};
    logFile: string;
    outputTail(): string;
    stop(): Promise<void>;
}

export interface CodeServerOptions {
    workspace: string;
    extensionDevelopmentPath?: string;
    extensionTestsPath?: string;
    userSettings?: Record<string, unknown>;
    userDataDir?: string;
    extensionsDir?: string;
    env?: Record<string, string>;
    keepRunDir?: boolean;
}

export interface ExtensionTestOptions {
    extensionDevelopmentPath: string;
    extensionTestsPath: string;
    workspace: string;
    userSettings?: Record<string, unknown>;
    env?: Record<string, string>;
    extensionsDir?: string;
    timeoutMs?: number;
    screenshot?: string;
    log?: (line: string) => void;
}

interface ToolsModule {
    requireTools(options?: {browser?: boolean}): Tools;
    SETUP_COMMAND: string;
}

async function load<T>(file: string): Promise<T> {
    return await import(pathToFileURL(path.join(repoRoot, "scripts", "e2e", file)).href) as T;
}

/** The installed tools, or an Error naming the command that installs them (the e2e tests fail, never skip). */
export async function requireTools(browser = true): Promise<Tools> {
    return (await load<ToolsModule>("tools.mjs")).requireTools({browser});
}

export async function startCodeServer(options: CodeServerOptions): Promise<CodeServer> {
    return await (await load<{startCodeServer(o: CodeServerOptions): Promise<CodeServer>}>("codeServer.mjs")).startCodeServer(options);
}

export async function launchBrowser(): Promise<Browser> {
    return await (await load<{launchBrowser(): Promise<Browser>}>("browser.mjs")).launchBrowser();
}

export async function runExtensionTests(options: ExtensionTestOptions): Promise<number> {
    return await (await load<{runExtensionTests(o: ExtensionTestOptions): Promise<number>}>("runExtensionTests.mjs")).runExtensionTests(options);
}

/** Bundles test/e2e/suite into dist/test/suite/{index,smoke}.cjs. */
export async function buildSuites(): Promise<{index: string, smoke: string}> {
    return await (await load<{buildSuites(): Promise<{index: string, smoke: string}>}>("buildSuite.mjs")).buildSuites();
}

/** A fresh copy of samples/workspace in a temp folder (tests write into it). */
export function sampleWorkspace(): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hindsight-e2e-ws-"));
    fs.cpSync(path.join(repoRoot, "samples", "workspace"), dir, {recursive: true});
    return dir;
}

/** User settings that point the extension at the real model and a temporary store. */
export function extensionSettings(model: string, storage: string): Record<string, unknown> {
    return {
        "hindsight.modelPath": model,
        "hindsight.storageFolder": storage,
        "hindsight.maxRounds": 2,
        "hindsight.maxTokens": 96,
        "hindsight.threads": Number(process.env.HINDSIGHT_THREADS ?? 2)
    };
}

/** The built extension must exist before VS Code can load it. */
export function assertExtensionBuilt(): void {
    const main = path.join(repoRoot, "dist", "extension.cjs");
    if (!fs.existsSync(main))
        throw new Error(`${main} is missing: run \`npm run build\` first.`);
}
