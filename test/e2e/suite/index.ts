// Entry point the extension host loads (extensionTestsPath): runs the integration tests with mocha's
// programmatic API and rejects when any fails, which VS Code (or code-server's workbench) turns into exit code 1.
// Bundled by scripts/e2e/buildSuite.mjs to dist/test/suite/index.cjs; mocha stays external (node_modules).
import Mocha from "mocha";
import {defineCommandTests} from "./commands.js";

export async function run(): Promise<void> {
    const mocha = new Mocha({ui: "bdd", color: false, timeout: 600_000, reporter: "spec"});
    // Installs describe/it/before... as globals, as `mocha FILE` does before it loads a file.
    mocha.suite.emit("pre-require", globalThis, "hindsight-e2e", mocha);
    defineCommandTests();
    const failures = await new Promise<number>((resolve) => mocha.run(resolve));
    if (failures > 0)
        throw new Error(`${failures} extension test(s) failed.`);
}
