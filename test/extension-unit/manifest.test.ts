import assert from "node:assert/strict";
import fs from "node:fs";
import {DEFAULT_EXCLUDE_GLOBS} from "../../src/engine/index.js";
import {defaults, gpuChoices, kvCacheTypes, memoryScopes} from "../../src/engine/options.js";

interface Manifest {
    name: string;
    publisher: string;
    main: string;
    icon: string;
    engines: {vscode: string};
    activationEvents: string[];
    capabilities: {untrustedWorkspaces: {supported: string}};
    contributes: {
        viewsContainers: {activitybar: {id: string, title: string, icon: string}[]};
        views: Record<string, {id: string, name: string, type?: string}[]>;
        commands: {command: string, title: string, category: string}[];
        menus: Record<string, {command: string}[]>;
        configuration: {properties: Record<string, {default: unknown, enum?: string[]}>};
        walkthroughs: {id: string, title: string, steps: {id: string, title: string, description: string, media: {markdown: string},
            completionEvents: string[]}[]}[];
    };
}

const manifest = JSON.parse(fs.readFileSync("package.json", "utf8")) as Manifest;

describe("extension manifest (the contract the e2e tests rely on)", () => {
    it("is hindsight-dev.hindsight, for VS Code ^1.95, loading dist/extension.cjs on startup", () => {
        assert.equal(`${manifest.publisher}.${manifest.name}`, "hindsight-dev.hindsight");
        assert.equal(manifest.engines.vscode, "^1.95.0");
        assert.equal(manifest.main, "./dist/extension.cjs");
        assert.ok(manifest.activationEvents.includes("onStartupFinished"));
        assert.equal(manifest.capabilities.untrustedWorkspaces.supported, "limited");
        assert.ok(fs.existsSync(manifest.icon) && fs.existsSync("media/hindsight.svg"));
    });

    it("has a walkthrough for day one (model, ask, reuse, forget) whose links and events name real commands and views", () => {
        const [walk] = manifest.contributes.walkthroughs;
        assert.ok(walk != null && manifest.contributes.walkthroughs.length === 1);
        assert.deepEqual(walk.steps.map((s) => s.id), ["model", "ask", "reuse", "forget"]);
        const commands = new Set(manifest.contributes.commands.map((c) => c.command));
        const views = new Set(Object.values(manifest.contributes.views).flat().map((v) => v.id));
        for (const step of walk.steps) {
            assert.ok(fs.existsSync(step.media.markdown), `${step.id}: ${step.media.markdown} exists`);
            const links = [...step.description.matchAll(/\(command:([\w.]+)\)/g)].map((m) => m[1]!);
            assert.ok(links.length > 0, `${step.id} offers a button`);
            for (const id of links)
                assert.ok(commands.has(id) || (id.endsWith(".focus") && views.has(id.slice(0, -".focus".length))), `${step.id}: ${id} is a command`);
            for (const event of step.completionEvents) {
                const [kind, id] = event.split(":");
                assert.ok(kind === "onCommand" ? commands.has(id!) : kind === "onView" && views.has(id!), `${step.id}: ${event}`);
            }
        }
    });

    it("has the Hindsight container with the chat webview and the memory view", () => {
        assert.deepEqual(manifest.contributes.viewsContainers.activitybar, [{id: "hindsight", title: "Hindsight", icon: "media/hindsight.svg"}]);
        const views = manifest.contributes.views.hindsight!;
        assert.deepEqual(views.map((v) => [v.id, v.name]), [["hindsight.chat", "Chat"], ["hindsight.memory", "Memory"]]);
        assert.equal(views[0]!.type, "webview");
    });

    it("titles every command \"Hindsight: …\" and puts the selection commands in the editor context menu", () => {
        for (const c of manifest.contributes.commands)
            assert.equal(c.category, "Hindsight", c.command);
        const context = manifest.contributes.menus["editor/context"]!.map((m) => m.command);
        assert.deepEqual(context, ["hindsight.askSelection", "hindsight.explain", "hindsight.fix", "hindsight.writeTests"]);
    });

    it("declares the settings with their defaults, the exclude globs being the engine's", () => {
        const p = manifest.contributes.configuration.properties;
        const expected: Record<string, unknown> = {
            "hindsight.modelPath": "", "hindsight.gpu": "auto", "hindsight.kvCacheType": "f16", "hindsight.logsPerRequest": 3,
            "hindsight.memoryScope": "workspace", "hindsight.storageFolder": "", "hindsight.threads": 0, "hindsight.inline.enabled": true,
            "hindsight.inline.delayMs": 300, "hindsight.inline.useMemory": false, "hindsight.maxRounds": 4, "hindsight.maxTokens": 384
        };
        for (const [key, value] of Object.entries(expected))
            assert.deepEqual(p[key]?.default, value, key);
        assert.deepEqual(p["hindsight.excludeGlobs"]!.default, [...DEFAULT_EXCLUDE_GLOBS]);
    });

    it("declares the vocabularies and defaults of the engine's options module (one source for engine, CLI and settings)", () => {
        const p = manifest.contributes.configuration.properties;
        const enums: Record<string, readonly string[]> = {"hindsight.gpu": gpuChoices, "hindsight.kvCacheType": kvCacheTypes, "hindsight.memoryScope": memoryScopes};
        for (const [key, values] of Object.entries(enums))
            assert.deepEqual(p[key]?.enum, [...values], key);
        assert.ok(gpuChoices.includes("metal"));
        const expected: Record<string, unknown> = {
            "hindsight.gpu": defaults.gpu, "hindsight.kvCacheType": defaults.kvType, "hindsight.logsPerRequest": defaults.k,
            "hindsight.memoryScope": defaults.memoryScope, "hindsight.maxRounds": defaults.maxRounds, "hindsight.maxTokens": defaults.maxTokensPerRound,
            "hindsight.threads": defaults.threads, "hindsight.inline.enabled": defaults.inline.enabled, "hindsight.inline.delayMs": defaults.inline.delayMs,
            "hindsight.inline.useMemory": defaults.inline.useMemory, "hindsight.inline.maxTokens": defaults.inline.maxTokens
        };
        for (const [key, value] of Object.entries(expected))
            assert.deepEqual(p[key]?.default, value, key);
    });
});
