export {LogStore} from "./LogStore.js";
export {SCHEMA_VERSION} from "./schema.js";
export {LOG_OUTCOMES} from "./types.js";
export type {Embedding, ImportOptions, ImportResult, KvInfo, KvRecord, LogOutcome, LogRecord, LogStoreOptions, NewKv, NewLog, SearchHit,
    SearchOptions} from "./types.js";
