// EngineHost after dispose(): nothing reopens the log store behind a shut-down host. The memory size refresh that a
// finished request or a Forget command starts may land after the window closed; it must not open a new LanceDB
// connection that nobody closes, nor fire a status. Uses a real LanceDB folder, no model.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {EngineHost} from "../../src/extension/engineHost.js";
import {settingsFrom} from "../../src/extension/settings.js";

describe("EngineHost dispose", function () {
    let folder: string;
    beforeEach(() => {
        folder = fs.mkdtempSync(path.join(os.tmpdir(), "hindsight-host-dispose-"));
    });
    afterEach(() => fs.rmSync(folder, {recursive: true, force: true}));

    function host(): EngineHost {
        const get = (_key: string) => undefined;
        return new EngineHost(() => settingsFrom({get, user: get}, {trusted: true, defaultStorageFolder: folder, home: os.homedir()}), () => undefined);
    }

    it("opens the store and reports its size while alive", async () => {
        const h = host();
        const statuses: unknown[] = [];
        h.onDidChangeStatus((s) => statuses.push(s));
        await h.refreshMemorySize();
        assert.equal(h.status.memorySize, 0);
        assert.equal(statuses.length, 1);
        await h.dispose();
    });

    it("refuses to open the store after dispose, and a late memory refresh does nothing", async () => {
        const h = host();
        await h.store();
        await h.dispose();
        await assert.rejects(h.store(), (err: Error) => err.name === "DisposedError" && /Hindsight was shut down/.test(err.message));
        const statuses: unknown[] = [];
        h.onDidChangeStatus((s) => statuses.push(s));
        await h.refreshMemorySize();
        assert.deepEqual(statuses, []);
        assert.equal(h.status.memorySize, undefined);
    });
});
