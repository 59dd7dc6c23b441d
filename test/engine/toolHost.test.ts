import assert from "node:assert/strict";
import {execFileSync} from "node:child_process";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import {DirectoryToolHost} from "../../src/engine/agent/ToolHost.js";

/** A workspace with a secret next to it (outside) and one inside (`.env`), and links to both. */
async function makeWorkspace(): Promise<{base: string, ws: string}> {
    const base = await fs.mkdtemp(path.join(os.tmpdir(), "hindsight-tools-"));
    const ws = path.join(base, "ws");
    const outside = path.join(base, "outside");
    await fs.mkdir(path.join(ws, "src"), {recursive: true});
    await fs.mkdir(outside);
    await fs.writeFile(path.join(outside, "secret.txt"), "OUTSIDE-SECRET\n");
    await fs.writeFile(path.join(ws, ".env"), "SECRET=dotenv-value\n");
    await fs.writeFile(path.join(ws, "src", "main.py"), "print('hello')\n");
    await fs.writeFile(path.join(ws, "..x"), "dots in a name, not a parent\n");
    await fs.symlink(path.join(outside, "secret.txt"), path.join(ws, "passwd"));
    await fs.symlink(outside, path.join(ws, "outdir"));
    await fs.symlink(".env", path.join(ws, "innocent.txt"));
    await fs.symlink("src", path.join(ws, "lib"));
    await fs.symlink("/dev/zero", path.join(ws, "zero"));
    return {base, ws};
}

describe("DirectoryToolHost: the workspace boundary", function () {
    let base: string;
    let host: DirectoryToolHost;

    beforeEach(async function () {
        const made = await makeWorkspace();
        base = made.base;
        host = new DirectoryToolHost(made.ws);
    });

    afterEach(async function () {
        await fs.rm(base, {recursive: true, force: true});
    });

    it("refuses a link to a file outside the workspace", async function () {
        const text = await host.readFile("passwd");
        assert.match(text, /outside the workspace/);
        assert.doesNotMatch(text, /OUTSIDE-SECRET/);
    });

    it("refuses a link to a folder outside, and neither lists nor searches through it", async function () {
        assert.match(await host.listFiles("outdir"), /outside the workspace/);
        assert.match(await host.readFile("outdir/secret.txt"), /outside the workspace/);
        const listing = await host.listFiles(".");
        assert.doesNotMatch(listing, /outdir|secret|passwd/);
        assert.equal(await host.search("OUTSIDE-SECRET"), 'No matches for "OUTSIDE-SECRET".');
    });

    it("refuses a link to an excluded file (innocent.txt -> .env), and search does not find it", async function () {
        const text = await host.readFile("innocent.txt");
        assert.match(text, /excluded/);
        assert.doesNotMatch(text, /dotenv-value/);
        assert.doesNotMatch(await host.listFiles("."), /innocent|\.env/);
        assert.equal(await host.search("dotenv-value"), 'No matches for "dotenv-value".');
    });

    it("still reads links inside the workspace and names that start with two dots", async function () {
        assert.equal(await host.readFile("lib/main.py"), "print('hello')\n");
        assert.equal(await host.readFile("..x"), "dots in a name, not a parent\n");
        assert.match(await host.readFile("../ws/src/main.py"), /hello/);
        assert.match(await host.readFile("../outside/secret.txt"), /outside the workspace/);
        const listing = (await host.listFiles(".")).split("\n");
        assert.deepEqual(listing.sort(), ["..x", "lib/", "src/", "src/main.py"].sort(), "a link to a folder inside is listed, not walked twice");
        assert.match(await host.search("hello"), /^src\/main\.py:1: print\('hello'\)$/);
    });
});

describe("DirectoryToolHost: what it reads", function () {
    this.timeout(20_000);
    let base: string;
    let ws: string;
    let host: DirectoryToolHost;

    beforeEach(async function () {
        ({base, ws} = await makeWorkspace());
        host = new DirectoryToolHost(ws);
    });

    afterEach(async function () {
        await fs.rm(base, {recursive: true, force: true});
    });

    it("refuses a FIFO at once (opening it does not wait for a writer)", async function () {
        execFileSync("mkfifo", [path.join(ws, "pipe")]);
        const started = Date.now();
        const text = await Promise.race([
            host.readFile("pipe"),
            new Promise<string>((resolve) => setTimeout(() => resolve("still waiting after 3 s"), 3000).unref())
        ]);
        assert.match(text, /not a regular file/);
        assert.ok(Date.now() - started < 2000);
        assert.doesNotMatch(await host.search("anything"), /waiting/);
    });

    it("refuses a device: a link to /dev/zero, and /dev/zero itself in a workspace that holds it", async function () {
        assert.match(await host.readFile("zero"), /outside the workspace/);
        const before = process.memoryUsage().rss;
        assert.match(await new DirectoryToolHost("/dev").readFile("zero"), /not a regular file/);
        assert.ok(process.memoryUsage().rss - before < 64 * 1024 * 1024, "reading a device does not grow memory");
    });

    it("reads only the start of a huge file: fast, in bounded memory", async function () {
        const file = path.join(ws, "huge.log");
        await fs.writeFile(file, "line of text\n".repeat(6000));
        // Sparse: 256 MiB long, almost no disk. Past the text it is NUL bytes, which a bounded read never reaches.
        await fs.truncate(file, 256 * 1024 * 1024);
        const before = process.memoryUsage().rss;
        const started = Date.now();
        const text = await host.readFile("huge.log");
        assert.ok(Date.now() - started < 1000, `took ${Date.now() - started} ms`);
        assert.ok(process.memoryUsage().rss - before < 64 * 1024 * 1024, "memory stays bounded");
        assert.match(text, /^line of text\n/);
        assert.match(text, /\[\.\.\. truncated: showed the first 6000 characters of 268435456 bytes\]$/);
        assert.ok(text.length < 6200);
    });

    it("refuses a binary file with a clear observation", async function () {
        await fs.writeFile(path.join(ws, "image.png"), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]));
        assert.equal(await host.readFile("image.png"), "Error: image.png is a binary file; only text files are read.");
        assert.match(await host.readFile("src"), /not a regular file/);
    });
});
