/**
 * The engine as the extension loads it: on first use, through a real dynamic `import()` (see `loadEngineModule`).
 * The build bundles this file as its own ES module (dist/engine.mjs) so node-llama-cpp (ESM-only) and LanceDB load
 * in an ES module context, and never during activation. Only this file and `import type` may name src/engine, and
 * only its index (eslint's one-door rule), except the pure-data options.ts the settings are checked against.
 */
export * from "../engine/index.js";
