// The engine's public surface. Hosts (the CLI, the VS Code extension, the evaluation harness) import from here only
// (eslint's no-restricted-imports refuses anything else); tests may reach the internals.
export {HindsightEngine} from "./HindsightEngine.js";
export type {AskEvent, AskMode, AskOptions, AskResult, AskTimings, ConversationTurn, HindsightEngineOptions, Reliance, ScoreOptions, ScoreResult, StaleLog,
    StoredTask} from "./HindsightEngine.js";
export {askModes, defaults, gpuChoices, isModeName, isOneOf, kvCacheTypes, kvVariantFlags, memoryScopes, parseModeName} from "./options.js";
export type {KvVariantFlag, MemoryModeName} from "./options.js";
export type {GpuChoice, KvCacheType, MemoryScope} from "./options.js";
export {InlineCompletions} from "./completion/InlineCompletions.js";
export type {InlineCompletionsOptions} from "./completion/InlineCompletions.js";
export type {InlineContext} from "./completion/inlineLogic.js";
export {DirectoryToolHost, offeredTools, toolNames} from "./agent/ToolHost.js";
export type {ToolHost, ToolName} from "./agent/ToolHost.js";
export {FileHashCache, MAX_HASH_BYTES, WorkspaceFileChecker} from "./agent/WorkspaceFiles.js";
export type {CheckedFile, FileChecker, FileReader, WorkspaceFileCheckerOptions} from "./agent/WorkspaceFiles.js";
export {checkLogFiles} from "./session/staleLogs.js";
export type {LogFileStatus} from "./session/staleLogs.js";
export {GATE_TEXT_LEAD} from "./session/modes/kvVariant.js";
export {AbortedError, DisposedError, HindsightError, KvLogError, ModelError, StoreError, throwIfAborted, toUserError} from "./errors.js";
export type {HindsightErrorCode} from "./errors.js";
export {isKvCacheType} from "./kv/ggml.js";
export {KV_ALONE_SUFFIX, logTextOf} from "./kv/logKv.js";
export {verifyKv} from "./diagnostics/verifyKv.js";
export type {VerifyKvOptions, VerifyKvResult} from "./diagnostics/verifyKv.js";
export {benchKv} from "./diagnostics/benchKv.js";
export type {BenchKvOptions, BenchKvResult} from "./diagnostics/benchKv.js";
export {DEFAULT_MODEL_URI, OFFLINE_MODEL_PYPI, pullModel} from "./models/ModelPuller.js";
export type {ModelSource, PulledModel, PullModelOptions, PullProgress} from "./models/ModelPuller.js";
export {defaultModelsDir, readCacheRecord} from "./models/modelCache.js";
export {readGgufHeader} from "./models/ggufHeader.js";
export {DEFAULT_EXCLUDE_GLOBS, excludeGlobProblems, isExcludedPath, redactSecrets} from "./redact.js";
export type {GlobProblem} from "./redact.js";
export {ModelRuntime} from "./runtime/ModelRuntime.js";
export {gpuUnavailableError, isForcedGpu, supportedGpuBackends} from "./runtime/gpuSupport.js";
export type {GpuBackend} from "./runtime/gpuSupport.js";
export type {Fingerprint, ModelRuntimeOptions} from "./runtime/ModelRuntime.js";
export {LOG_OUTCOMES, LogStore, SCHEMA_VERSION} from "./store/index.js";
export type {ImportOptions, ImportResult, KvInfo, LogFile, LogOutcome, LogRecord, LogStoreOptions, SearchHit} from "./store/index.js";
