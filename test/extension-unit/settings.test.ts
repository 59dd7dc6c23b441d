import assert from "node:assert/strict";
import fs from "node:fs";
import {DEFAULT_EXCLUDE_GLOBS} from "../../src/engine/index.js";
import {SETTING_LIMITS, settingsFrom, type SettingsSource} from "../../src/extension/settings.js";

interface Property {
    default?: unknown;
    minimum?: number;
    maximum?: number;
    scope?: string;
}

const manifest = JSON.parse(fs.readFileSync("package.json", "utf8")) as {
    capabilities: {untrustedWorkspaces: {restrictedConfigurations: string[]}};
    contributes: {configuration: {properties: Record<string, Property>}};
};
const properties = manifest.contributes.configuration.properties;

/** Settings as VS Code layers them: package.json defaults, then the user's values, then the workspace's. */
function source(user: Record<string, unknown>, workspace: Record<string, unknown> = {}): SettingsSource {
    const defaults = (key: string) => properties[`hindsight.${key}`]?.default;
    return {
        get: (key) => key in workspace ? workspace[key] : key in user ? user[key] : defaults(key),
        user: (key) => key in user ? user[key] : defaults(key)
    };
}

const env = {trusted: true, defaultStorageFolder: "/default/store", home: "/home/u"};

describe("extension settings: what a workspace can and cannot change", () => {
    it("declares each number setting's range in package.json as the host clamps it", () => {
        for (const [name, {min, max, fallback}] of Object.entries(SETTING_LIMITS)) {
            const p = properties[`hindsight.${name}`];
            assert.ok(p != null, name);
            assert.deepEqual([p.minimum, p.maximum, p.default], [min, max, fallback], name);
        }
    });

    it("clamps threads, maxTokens, maxRounds and logsPerRequest however large a workspace sets them", () => {
        const s = settingsFrom(source({}, {threads: 100000, maxTokens: 1e9, maxRounds: 5000, logsPerRequest: 1e6,
            "inline.delayMs": -5, "inline.maxTokens": 1e12}), env);
        assert.deepEqual([s.threads, s.maxTokens, s.maxRounds, s.logsPerRequest, s.inline.delayMs, s.inline.maxTokens], [256, 4096, 16, 10, 0, 256]);
        const low = settingsFrom(source({}, {threads: -3, maxTokens: 1, maxRounds: 0, logsPerRequest: -1}), env);
        assert.deepEqual([low.threads, low.maxTokens, low.maxRounds, low.logsPerRequest], [0, 16, 1, 0]);
        const junk = settingsFrom(source({}, {threads: "many", maxTokens: Number.NaN, maxRounds: null, logsPerRequest: Infinity}), env);
        assert.deepEqual([junk.threads, junk.maxTokens, junk.maxRounds, junk.logsPerRequest], [0, 384, 4, 3]);
    });

    it("keeps the exclude globs a workspace cannot remove, and adds its extra ones", () => {
        assert.equal(properties["hindsight.excludeGlobs"]?.scope, "machine");
        assert.equal(properties["hindsight.excludeGlobsExtra"]?.scope, undefined, "window scope (the default): a workspace may add");
        const replaced = settingsFrom(source({}, {excludeGlobs: ["*.log"]}), env);
        assert.deepEqual(replaced.excludeGlobs, [...DEFAULT_EXCLUDE_GLOBS], "a workspace's excludeGlobs is ignored");
        const added = settingsFrom(source({}, {excludeGlobsExtra: ["*.log", 7, ""]}), env);
        assert.deepEqual(added.excludeGlobs, [...DEFAULT_EXCLUDE_GLOBS, "*.log"]);
        const mine = settingsFrom(source({excludeGlobs: ["*.pem"]}, {excludeGlobsExtra: ["*.pem", "*.log"]}), env);
        assert.deepEqual(mine.excludeGlobs, ["*.pem", "*.log"], "the user's own list is theirs to edit");
        const negated = settingsFrom(source({}, {excludeGlobsExtra: ["!**", " !.env*", "*.log"]}), env);
        assert.deepEqual(negated.excludeGlobs, [...DEFAULT_EXCLUDE_GLOBS, "*.log"], "a workspace cannot take paths back out with ! globs");
    });

    it("does not let an untrusted workspace widen the memory to every workspace, or choose the model or store", () => {
        const restricted = manifest.capabilities.untrustedWorkspaces.restrictedConfigurations;
        for (const key of ["hindsight.memoryScope", "hindsight.excludeGlobs", "hindsight.modelPath", "hindsight.storageFolder"])
            assert.ok(restricted.includes(key), key);
        const workspace = {memoryScope: "global", modelPath: "/tmp/evil.gguf", storageFolder: "/tmp/evil-store"};
        const untrusted = settingsFrom(source({}, workspace), {...env, trusted: false});
        assert.deepEqual([untrusted.memoryScope, untrusted.modelPath, untrusted.storageFolder], ["workspace", "", "/default/store"]);
        assert.equal(settingsFrom(source({}, workspace), env).memoryScope, "global", "a trusted workspace may share the memory");
        assert.equal(settingsFrom(source({memoryScope: "global"}), {...env, trusted: false}).memoryScope, "global", "the user's own choice holds");
        assert.equal(settingsFrom(source({storageFolder: "~/store"}), env).storageFolder, "/home/u/store");
    });
});
