export {LogStore} from "./LogStore.js";
export {SCHEMA_VERSION} from "./schema.js";
export {LOG_OUTCOMES} from "./types.js";
export {MAX_LOG_FILES} from "./records.js";
export type {Embedding, ImportOptions, ImportResult, KvInfo, KvRecord, LogFile, LogOutcome, LogRecord, LogStoreOptions, NewKv, NewLog, SearchHit,
    SearchOptions} from "./types.js";
