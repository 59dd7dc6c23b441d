import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";

/**
 * The one-door rule (eslint.config.js enforces it while editing; this keeps it true of the tree): hosts import the
 * engine through src/engine/index.ts only (the extension may also read the pure-data options.ts), and the engine
 * never imports the editor.
 */
function sources(dir: string): string[] {
    return fs.readdirSync(dir, {withFileTypes: true, recursive: true})
        .filter((e) => e.isFile() && e.name.endsWith(".ts"))
        .map((e) => path.join(e.parentPath, e.name));
}

const importPattern = /(?:import|export)\s[^;]*?from\s+"([^"]+)"|import\("([^"]+)"\)/g;

function importsOf(file: string): string[] {
    const text = fs.readFileSync(file, "utf8");
    return [...text.matchAll(importPattern)].map((m) => m[1] ?? m[2]!);
}

describe("layers: one door into the engine", () => {
    it("src/cli, src/eval and src/extension import src/engine only through index.ts (and the extension options.ts)", () => {
        const offenders: string[] = [];
        for (const host of ["src/cli", "src/eval", "src/extension"])
            for (const file of sources(host))
                for (const spec of importsOf(file)) {
                    if (!spec.startsWith("."))
                        continue;
                    const target = path.relative("src/engine", path.resolve(path.dirname(file), spec));
                    if (target.startsWith("..") || path.isAbsolute(target))
                        continue;
                    const allowed = host === "src/extension" ? ["index.js", "options.js"] : ["index.js"];
                    if (!allowed.includes(target))
                        offenders.push(`${file} imports ${spec}`);
                }
        assert.deepEqual(offenders, []);
    });

    it("the engine imports no editor API, and the extension no node-llama-cpp type", () => {
        for (const file of sources("src/engine"))
            assert.ok(!importsOf(file).includes("vscode"), file);
        for (const file of sources("src/extension"))
            assert.ok(!importsOf(file).includes("node-llama-cpp"), file);
    });
});
