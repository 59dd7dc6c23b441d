// Bundles the CLI (and later the extension) with esbuild. Native packages stay external:
// they are loaded at run time from node_modules.
import {build} from "esbuild";

const external = ["node-llama-cpp", "@lancedb/lancedb", "apache-arrow"];

await build({
    entryPoints: ["src/cli/main.ts"],
    outfile: "dist/cli.js",
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    sourcemap: true,
    external,
    logLevel: "warning"
});
