/**
 * The engine as the extension loads it: on first use, through a real dynamic `import()` (see `loadEngineModule`).
 * The build bundles this file as its own ES module (dist/engine.mjs) so node-llama-cpp (ESM-only) and LanceDB load
 * in an ES module context, and never during activation. Only this file and `import type` may name src/engine.
 */
export * from "../engine/index.js";
// eslint-disable-next-line no-restricted-imports -- the inline model moves into the engine next (src/engine/completion)
export {loadStackedLogs} from "../engine/kv/KvLogCodec.js";
// eslint-disable-next-line no-restricted-imports -- idem
export type {StoredKv} from "../engine/kv/KvLogCodec.js";
