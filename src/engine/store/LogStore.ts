/**
 * The log store: finished tasks (logs), their KV blobs and their embeddings in an embedded LanceDB
 * folder. See README.md in this folder for the tables, the commit point and the concurrency rules.
 */
import {randomUUID} from "node:crypto";
import fs from "node:fs/promises";
import type {Connection, Table} from "@lancedb/lancedb";
import {HindsightError, StoreError} from "../errors.js";
import {lanceOp, loadLance, withCommitRetry, type LanceModules} from "./lance.js";
import {PortableWriter, readPortable, type PortableEntry} from "./portable.js";
import {createTablesAtomically, ensureSchema, KV_TABLE, LOGS_TABLE, META_TABLE, removeStaleStaging, SCHEMA_VERSION, VECTOR_TABLE_PREFIX,
    vectorSchema, vectorTableName} from "./schema.js";
import {invalid, kvRow, logFilter, logRow, toKvRecord, toLogRecord, validateEmbedding, validateKv, validateLog, validK, vectorRow,
    type Row} from "./records.js";
import {sqlAnd, sqlEq, sqlIn, sqlString} from "./sql.js";
import {LOG_OUTCOMES, type Embedding, type ImportOptions, type ImportResult, type KvInfo, type KvRecord, type LogOutcome, type LogRecord,
    type LogStoreOptions, type NewKv, type NewLog, type SearchHit, type SearchOptions} from "./types.js";
import {WriterLock} from "./WriterLock.js";

const DEFAULT_ORPHAN_GRACE_MS = 5 * 60 * 1000;
/** Ids per `IN (...)` list, to keep filter strings small. */
const ID_CHUNK = 256;
/** An import writes this many logs (or this many KV bytes) per commit. */
const IMPORT_BATCH_LOGS = 64;
const IMPORT_BATCH_BYTES = 128 * 1024 * 1024;
/** A writable open refreshes indexes once this many rows are not covered by them... */
const MAINTAIN_UNINDEXED_ROWS = 256;
/** ...and compacts the small tables once they have this many small fragments. */
const MAINTAIN_SMALL_FRAGMENTS = 64;

export class LogStore {
    public readonly dir: string;
    public readonly readOnly: boolean;
    readonly #lance: LanceModules;
    readonly #db: Connection;
    readonly #logs: Table;
    readonly #kv: Table;
    readonly #vectorTables = new Map<string, {table: Table, dimension: number}>();
    #closed = false;

    private constructor(dir: string, readOnly: boolean, lance: LanceModules, db: Connection, logs: Table, kv: Table) {
        this.dir = dir;
        this.readOnly = readOnly;
        this.#lance = lance;
        this.#db = db;
        this.#logs = logs;
        this.#kv = kv;
    }

    /**
     * Opens the store in `dir`, creating it (and the folder) when missing, migrating an older one.
     * Throws `StoreError` `STORE_UNAVAILABLE` when the folder cannot be used: not a folder, not readable or
     * writable, a folder with other files in it, or a store made by a newer Hindsight.
     */
    public static async open(dir: string, options: Partial<LogStoreOptions> = {}): Promise<LogStore> {
        const readOnly = options.readOnly ?? false;
        await checkStoreDir(dir, readOnly);
        const lance = await loadLance();
        const db = await lanceOp(`open ${dir}`, () => lance.lancedb.connect(dir, {readConsistencyInterval: 0}));
        try {
            await lanceOp(`prepare the store in ${dir}`, () => ensureSchema(db, lance, dir, readOnly));
            const names = await lanceOp("list the store's tables", () => db.tableNames());
            for (const name of [LOGS_TABLE, KV_TABLE])
                if (!names.includes(name))
                    throw new StoreError("STORE_CORRUPT", `The log store at ${dir} has lost its "${name}" table. Restore it from an export, or choose another store folder.`);

            const [logs, kv] = await lanceOp("open the store's tables", () => Promise.all([db.openTable(LOGS_TABLE), db.openTable(KV_TABLE)]));
            const store = new LogStore(dir, readOnly, lance, db, logs, kv);
            if (!readOnly) {
                // Housekeeping is best effort: a failure here (e.g. a race with another writer) is retried on the next open.
                const grace = options.orphanGraceMs ?? DEFAULT_ORPHAN_GRACE_MS;
                await store.collectOrphans(grace).catch(() => 0);
                await removeStaleStaging(dir, Math.max(grace, 60 * 60 * 1000)).catch(() => {});
                await store.#maintain().catch(() => {});
            }
            return store;
        } catch (err) {
            db.close();
            throw err;
        }
    }

    /**
     * Stores a log with its KV rows and embedding. Atomic for readers: the parts are written first and the
     * log row last, and nothing is visible until the log row is; a crash in between leaves only orphans
     * that readers ignore and a later open removes.
     */
    public async addLog(log: NewLog, parts: {kv?: NewKv[], embedding?: Embedding} = {}): Promise<LogRecord> {
        this.#assertWritable();
        const record: LogRecord = {
            id: log.id ?? randomUUID(),
            createdAt: new Date().toISOString(),
            workspace: log.workspace,
            task: log.task,
            lastResponse: log.lastResponse,
            logText: log.logText,
            outcome: log.outcome ?? "unknown",
            pinned: log.pinned ?? false,
            nTokens: log.nTokens,
            files: log.files ?? []
        };
        validateLog(record);
        const kv = (parts.kv ?? []).map((row) => ({...row, logId: record.id}));
        kv.forEach(validateKv);
        if (new Set(kv.map((row) => row.fingerprint)).size !== kv.length)
            throw invalid("addLog got two KV rows with the same fingerprint.");
        const embedding = parts.embedding;
        if (embedding != null)
            validateEmbedding(embedding);

        // An explicit id may be taken by another process between the check and the commit: the writer lock keeps them apart.
        const save = () => lanceOp("save the log", async () => {
            if (log.id != null) {
                if (await this.#logs.countRows(sqlEq("id", record.id)) > 0)
                    throw invalid(`A log with id ${record.id} already exists.`);
                // Parts left by an earlier attempt that crashed before its log row.
                await this.#deleteParts([record.id]);
            }
            const now = new Date().toISOString();
            if (kv.length > 0)
                await withCommitRetry(() => this.#kv.add(kv.map((row) => kvRow(row, now))));
            if (embedding != null) {
                const {table} = await this.#vectorTable(embedding.space, embedding.vector.length);
                await withCommitRetry(() => table.add([vectorRow(record.id, embedding, now)]));
            }
            // The commit point.
            await withCommitRetry(() => this.#logs.add([logRow(record)]));
        });
        await (log.id != null ? this.#locked(save) : save());
        return record;
    }

    /** Stores (or replaces) the KV of an existing log for one fingerprint. Throws `LOG_NOT_FOUND` when the log does not exist. */
    public async putKv(kv: Omit<KvRecord, "createdAt">): Promise<void> {
        this.#assertWritable();
        validateKv(kv);
        await lanceOp("save the KV cache", async () => {
            await this.#requireLog(kv.logId);
            const row = kvRow(kv, new Date().toISOString());
            await withCommitRetry(() => this.#kv.mergeInsert(["logId", "fingerprint"]).whenMatchedUpdateAll().whenNotMatchedInsertAll().execute([row]));
        });
    }

    public async getLog(id: string): Promise<LogRecord | null> {
        this.#assertOpen();
        const rows = await lanceOp("read the log", () => this.#logs.query().where(sqlEq("id", id)).limit(1).toArray() as Promise<Row[]>);
        return rows.length === 0 ? null : toLogRecord(rows[0]!);
    }

    /** Logs, newest first. */
    public async listLogs(filter: Partial<{workspace: string, limit: number}> = {}): Promise<LogRecord[]> {
        this.#assertOpen();
        return lanceOp("list the logs", async () => {
            let query = this.#logs.query().orderBy([{columnName: "createdAt", ascending: false}, {columnName: "id", ascending: false}]);
            if (filter.workspace != null)
                query = query.where(sqlEq("workspace", filter.workspace));
            if (filter.limit != null)
                query = query.limit(filter.limit);
            return (await query.toArray() as Row[]).map(toLogRecord);
        });
    }

    public async countLogs(): Promise<number> {
        this.#assertOpen();
        return lanceOp("count the logs", () => this.#logs.countRows());
    }

    /** Removes a log, its KV rows and its embeddings. Returns whether the log existed. */
    public async deleteLog(id: string): Promise<boolean> {
        this.#assertWritable();
        return lanceOp("delete the log", async () => {
            // The log row goes first: from then on the parts are orphans, invisible and collected later if this stops here.
            const {numDeletedRows} = await withCommitRetry(() => this.#logs.delete(sqlEq("id", id)));
            await this.#deleteParts([id]);
            return numDeletedRows > 0;
        });
    }

    public async setOutcome(id: string, outcome: LogOutcome): Promise<void> {
        this.#assertWritable();
        if (!LOG_OUTCOMES.includes(outcome))
            throw invalid(`Unknown outcome ${JSON.stringify(outcome)}; expected one of ${LOG_OUTCOMES.join(", ")}.`);
        await this.#updateLog(id, {outcome});
    }

    public async setPinned(id: string, pinned: boolean): Promise<void> {
        this.#assertWritable();
        await this.#updateLog(id, {pinned: pinned === true});
    }

    /** The KV of a log for one fingerprint; null when there is none or the log does not exist. */
    public async getKv(logId: string, fingerprint: string): Promise<KvRecord | null> {
        this.#assertOpen();
        return lanceOp("read the KV cache", async () => {
            const rows = await this.#kv.query().where(sqlAnd(sqlEq("logId", logId), sqlEq("fingerprint", fingerprint))!).toArray() as Row[];
            if (rows.length === 0 || !await this.#logExists(logId))
                return null;

            // Two concurrent putKv calls may both have inserted; the newest wins.
            rows.sort((a, b) => String(b.createdAt).localeCompare(String(a.createdAt)));
            return toKvRecord(rows[0]!);
        });
    }

    /** Which fingerprints a log has KV for, without reading the blobs. */
    public async kvInfo(logId: string): Promise<KvInfo[]> {
        this.#assertOpen();
        return lanceOp("read the KV cache list", async () => {
            const rows = await this.#kv.query().where(sqlEq("logId", logId)).select(["fingerprint", "bytes", "nTokens"]).toArray() as Row[];
            if (rows.length === 0 || !await this.#logExists(logId))
                return [];

            return rows.map((row) => ({fingerprint: String(row.fingerprint), bytes: Number(row.bytes), nTokens: Number(row.nTokens)}));
        });
    }

    /** Stores (or replaces) a log's embedding in one space. Throws `LOG_NOT_FOUND` when the log does not exist. */
    public async putEmbedding(logId: string, embedding: Embedding): Promise<void> {
        this.#assertWritable();
        validateEmbedding(embedding);
        await lanceOp("save the embedding", async () => {
            await this.#requireLog(logId);
            const {table} = await this.#vectorTable(embedding.space, embedding.vector.length);
            const row = vectorRow(logId, embedding, new Date().toISOString());
            await withCommitRetry(() => table.mergeInsert("logId").whenMatchedUpdateAll().whenNotMatchedInsertAll().execute([row]));
        });
    }

    /** The ids of the logs that have an embedding in `space` (none when the space has no table). */
    public async embeddedLogIds(space: string): Promise<Set<string>> {
        this.#assertOpen();
        return lanceOp("list the embedded logs", async () => {
            const found = await this.#vectorTable(space);
            if (found == null)
                return new Set<string>();
            const rows = await found.table.query().select(["logId"]).toArray() as Row[];
            return new Set(rows.map((row) => String(row.logId)));
        });
    }

    /** The embedding spaces that have a table in this store. */
    public async embeddingSpaces(): Promise<string[]> {
        this.#assertOpen();
        return lanceOp("list the embedding spaces", async () => {
            const spaces: string[] = [];
            for (const name of await this.#vectorTableNames()) {
                const table = await this.#db.openTable(name);
                try {
                    const [row] = await table.query().select(["space"]).limit(1).toArray() as Row[];
                    if (row != null)
                        spaces.push(String(row.space));
                } finally {
                    table.close();
                }
            }
            return spaces;
        });
    }

    /** Logs nearest to `vector` by cosine similarity (score = similarity, higher is better). */
    public async searchVector(space: string, vector: Float32Array | number[], options: SearchOptions): Promise<SearchHit[]> {
        this.#assertOpen();
        validateEmbedding({space, vector});
        const k = validK(options.k);
        return lanceOp("search the logs", async () => {
            const found = await this.#vectorTable(space);
            if (found == null)
                return [];
            if (found.dimension !== vector.length)
                throw invalid(`Embedding space ${space} has ${found.dimension} dimensions; the query has ${vector.length}.`);

            const query = Float32Array.from(vector);
            // Vector rows carry no workspace or outcome, and may belong to uncommitted logs: fetch more than k,
            // keep the rows whose log exists and passes the filter, and widen until k are found or the table is exhausted.
            for (let fetch = Math.max(4 * k, 32); ; fetch *= 4) {
                // `_distance` named in the projection: LanceDB warns on every search that leaves it out
                const rows = await found.table.vectorSearch(query).distanceType("cosine").select(["logId", "_distance"]).limit(fetch).toArray() as Row[];
                const allowed = await this.#filterLogIds(rows.map((row) => String(row.logId)), options);
                const hits: SearchHit[] = [];
                const seen = new Set<string>();
                for (const row of rows) {
                    const id = String(row.logId);
                    if (!allowed.has(id) || seen.has(id))
                        continue;
                    seen.add(id);
                    hits.push({id, score: 1 - Number(row._distance)});
                    if (hits.length === k)
                        return hits;
                }
                if (rows.length < fetch)
                    return hits;
            }
        });
    }

    /**
     * Full-text (BM25) search over each log's task and last response. The query is plain words: quotes,
     * brackets and words like OR are not operators, so no query can fail to parse.
     */
    public async searchText(query: string, options: SearchOptions): Promise<SearchHit[]> {
        this.#assertOpen();
        const k = validK(options.k);
        if (typeof query !== "string" || query.trim() === "")
            return [];

        return lanceOp("search the logs", async () => {
            const match = new this.#lance.lancedb.MultiMatchQuery(query, ["task", "lastResponse"]);
            // `_score` named in the projection: LanceDB warns on every search that leaves it out
            let search = this.#logs.query().fullTextSearch(match).select(["id", "_score"]).limit(k);
            const where = logFilter(options);
            if (where != null)
                search = search.where(where);
            const rows = await search.toArray() as Row[];
            return rows.map((row) => ({id: String(row.id), score: Number(row._score)}));
        });
    }

    /** Writes every log with its KV and embeddings to `file` (replaced atomically). Returns the number of logs. */
    public async exportTo(file: string): Promise<number> {
        this.#assertOpen();
        return lanceOp(`export the logs to ${file}`, async () => {
            const embeddings = new Map<string, Embedding[]>();
            for (const name of await this.#vectorTableNames()) {
                const table = await this.#db.openTable(name);
                try {
                    for (const row of await table.query().select(["logId", "space", "vector"]).toArray() as Row[]) {
                        const list = embeddings.get(String(row.logId)) ?? [];
                        list.push({space: String(row.space), vector: Array.from(row.vector as Iterable<number>)});
                        embeddings.set(String(row.logId), list);
                    }
                } finally {
                    table.close();
                }
            }
            const logs = await this.listLogs();
            const writer = await PortableWriter.create(file, SCHEMA_VERSION);
            try {
                for (const log of logs.reverse()) {
                    const kv = (await this.#kv.query().where(sqlEq("logId", log.id)).toArray() as Row[]).map(toKvRecord);
                    await writer.write({log, kv, embeddings: embeddings.get(log.id) ?? []});
                }
                await writer.commit();
            } catch (err) {
                await writer.abort();
                throw err;
            }
            return writer.count;
        });
    }

    /**
     * Adds the logs of an export file; logs whose id is already in the store are skipped. The whole file is
     * checked first (every line against the schema, vectors against this store's dimensions), so a bad line
     * anywhere leaves the store as it was. The file's KV blobs are dropped unless `keepKv` says the file is
     * trusted (see `ImportOptions`). Imports (and `addLog` with an explicit id) in several processes take
     * turns, so each id is added once.
     */
    public async importFrom(file: string, options: Partial<ImportOptions> = {}): Promise<ImportResult> {
        this.#assertWritable();
        const keepKv = options.keepKv !== undefined && options.keepKv !== false && options.keepKv.acceptRisk === true;
        const dimensions = new Map<string, number>();
        try {
            for await (const entry of readPortable(file, {readKv: false}))
                for (const {space, vector} of entry.embeddings)
                    dimensions.set(space, vector.length);
        } catch (err) {
            if (err instanceof HindsightError && err.code === "INVALID_ARGUMENT")
                throw invalid(`${err.message} Nothing was imported.`);
            throw err;
        }
        for (const [space, dimension] of dimensions) {
            const found = await lanceOp("read the embedding spaces", () => this.#vectorTable(space));
            if (found != null && found.dimension !== dimension)
                throw invalid(`${file} cannot be imported: its embeddings in space ${space} have ${dimension} dimensions, this store's have ` +
                    `${found.dimension}. Nothing was imported.`);
        }

        return this.#locked(() => this.#importChecked(file, keepKv));
    }

    /** The writing half of `importFrom`, for a file already checked; the caller holds the writer lock. */
    async #importChecked(file: string, keepKv: boolean): Promise<ImportResult> {
        const result: ImportResult = {added: 0, skipped: 0, kvKept: 0, kvDropped: 0};
        let batch: PortableEntry[] = [];
        let bytes = 0;
        const flush = async () => {
            const added = await this.#importBatch(batch);
            for (const entry of batch) {
                const fresh = added.has(entry.log.id);
                result.added += fresh ? 1 : 0;
                result.skipped += fresh ? 0 : 1;
                result.kvKept += fresh ? entry.kv.length : 0;
                result.kvDropped += fresh ? entry.skippedKv : 0;
            }
            batch = [];
            bytes = 0;
        };
        for await (const entry of readPortable(file, {readKv: keepKv})) {
            batch.push(entry);
            bytes += entry.kv.reduce((sum, row) => sum + row.data.byteLength, 0);
            if (batch.length >= IMPORT_BATCH_LOGS || bytes >= IMPORT_BATCH_BYTES)
                await flush();
        }
        if (batch.length > 0)
            await flush();
        return result;
    }

    /**
     * Deletes KV and embedding rows older than `olderThanMs` whose log row does not exist (left by a write
     * that crashed before its commit point, or a delete that stopped after it). Returns the rows deleted.
     */
    public async collectOrphans(olderThanMs: number): Promise<number> {
        this.#assertWritable();
        return lanceOp("clean up the store", async () => {
            const cutoff = new Date(Date.now() - olderThanMs).toISOString();
            const logIds = new Set((await this.#logs.query().select(["id"]).toArray() as Row[]).map((row) => String(row.id)));
            let deleted = 0;
            const tables: Table[] = [this.#kv];
            for (const name of await this.#vectorTableNames())
                tables.push(await this.#db.openTable(name));
            for (const table of tables) {
                const rows = await table.query().where(`createdAt < ${sqlString(cutoff)}`).select(["logId"]).toArray() as Row[];
                const orphans = [...new Set(rows.map((row) => String(row.logId)).filter((id) => !logIds.has(id)))];
                for (let i = 0; i < orphans.length; i += ID_CHUNK) {
                    const where = sqlAnd(sqlIn("logId", orphans.slice(i, i + ID_CHUNK)), `createdAt < ${sqlString(cutoff)}`)!;
                    deleted += (await withCommitRetry(() => table.delete(where))).numDeletedRows;
                }
                if (table !== this.#kv)
                    table.close();
            }
            return deleted;
        });
    }

    /**
     * Compacts every table, brings its indexes up to date and removes versions older than ten minutes.
     * Rewrites the KV blobs, so it is slow on a large store: call it when idle, not on every open.
     */
    public async optimize(): Promise<void> {
        this.#assertWritable();
        await lanceOp("optimize the store", async () => {
            const cleanupOlderThan = new Date(Date.now() - 10 * 60 * 1000);
            await withCommitRetry(() => this.#logs.optimize({cleanupOlderThan}));
            await withCommitRetry(() => this.#kv.optimize({cleanupOlderThan}));
            for (const name of await this.#vectorTableNames()) {
                const table = await this.#db.openTable(name);
                try {
                    await withCommitRetry(() => table.optimize({cleanupOlderThan}));
                } finally {
                    table.close();
                }
            }
        });
    }

    public close(): void {
        if (this.#closed)
            return;

        this.#closed = true;
        for (const {table} of this.#vectorTables.values())
            table.close();
        this.#vectorTables.clear();
        this.#logs.close();
        this.#kv.close();
        this.#db.close();
    }

    public async [Symbol.asyncDispose](): Promise<void> {
        this.close();
    }

    /**
     * The cheap part of `optimize`, run on a writable open. Every write adds a fragment (a file) to its table,
     * and rows added after an index was built are searched without it, so both slow reads down as they pile up.
     * The small tables (logs, vectors) are compacted and re-indexed; the KV table only gets its logId index
     * rebuilt, because compacting it would rewrite every blob.
     */
    async #maintain(): Promise<void> {
        const cleanupOlderThan = new Date(Date.now() - 60 * 60 * 1000);
        const unindexed = async (table: Table, name: string) => (await table.indexStats(name))?.numUnindexedRows ?? 0;
        const fragmented = async (table: Table) => (await table.stats()).fragmentStats.numSmallFragments >= MAINTAIN_SMALL_FRAGMENTS;
        if (await unindexed(this.#logs, "task_idx") >= MAINTAIN_UNINDEXED_ROWS || await fragmented(this.#logs))
            await withCommitRetry(() => this.#logs.optimize({cleanupOlderThan}));
        if (await unindexed(this.#kv, "logId_idx") >= MAINTAIN_UNINDEXED_ROWS)
            await withCommitRetry(() => this.#kv.createIndex("logId", {config: this.#lance.lancedb.Index.btree(), replace: true}));
        for (const name of await this.#vectorTableNames()) {
            const table = await this.#db.openTable(name);
            try {
                if (await fragmented(table))
                    await withCommitRetry(() => table.optimize({cleanupOlderThan}));
            } finally {
                table.close();
            }
        }
    }

    /** Writes the logs of `batch` whose id is not in the store yet (the caller holds the writer lock); returns their ids. */
    async #importBatch(batch: PortableEntry[]): Promise<Set<string>> {
        return lanceOp("import the logs", async () => {
            const present = await this.#filterLogIds(batch.map((entry) => entry.log.id), {});
            // The reader has refused a second copy of an id within the file.
            const fresh = batch.filter((entry) => !present.has(entry.log.id));
            if (fresh.length === 0)
                return new Set<string>();

            const freshIds = fresh.map((entry) => entry.log.id);
            await this.#deleteParts(freshIds);
            // Parts get the time they enter this store, so a concurrent open does not collect them as old orphans.
            const now = new Date().toISOString();
            const kvRows = fresh.flatMap((entry) => entry.kv.map((row) => kvRow({...row, logId: entry.log.id}, now)));
            if (kvRows.length > 0)
                await withCommitRetry(() => this.#kv.add(kvRows));
            const bySpace = new Map<string, {dimension: number, rows: Row[]}>();
            for (const entry of fresh)
                for (const embedding of entry.embeddings) {
                    const group = bySpace.get(embedding.space) ?? {dimension: embedding.vector.length, rows: []};
                    group.rows.push(vectorRow(entry.log.id, embedding, now));
                    bySpace.set(embedding.space, group);
                }
            for (const [space, {dimension, rows}] of bySpace) {
                const {table} = await this.#vectorTable(space, dimension);
                await withCommitRetry(() => table.add(rows));
            }
            await withCommitRetry(() => this.#logs.add(fresh.map((entry) => logRow(entry.log))));
            return new Set(fresh.map((entry) => entry.log.id));
        });
    }

    /** Runs `job` holding the store's writer lock (see WriterLock.ts). */
    async #locked<T>(job: () => Promise<T>): Promise<T> {
        const lock = await WriterLock.acquire(this.dir);
        try {
            return await job();
        } finally {
            await lock.release();
        }
    }

    /** The subset of `ids` whose log row exists and passes the filter. */
    async #filterLogIds(ids: string[], filter: Omit<SearchOptions, "k">): Promise<Set<string>> {
        const unique = [...new Set(ids)];
        const allowed = new Set<string>();
        for (let i = 0; i < unique.length; i += ID_CHUNK) {
            const where = sqlAnd(sqlIn("id", unique.slice(i, i + ID_CHUNK)), logFilter(filter))!;
            for (const row of await this.#logs.query().where(where).select(["id"]).toArray() as Row[])
                allowed.add(String(row.id));
        }
        return allowed;
    }

    async #logExists(id: string): Promise<boolean> {
        return await this.#logs.countRows(sqlEq("id", id)) > 0;
    }

    async #requireLog(id: string): Promise<void> {
        if (!await this.#logExists(id))
            throw new StoreError("LOG_NOT_FOUND", `There is no log ${id} in the store; it may have been deleted.`);
    }

    async #updateLog(id: string, values: {outcome?: LogOutcome, pinned?: boolean}): Promise<void> {
        await lanceOp("update the log", async () => {
            const {rowsUpdated} = await withCommitRetry(() => this.#logs.update({values, where: sqlEq("id", id)}));
            if (rowsUpdated === 0)
                throw new StoreError("LOG_NOT_FOUND", `There is no log ${id} in the store; it may have been deleted.`);
        });
    }

    /** Deletes the KV and embedding rows of these logs (the caller has made sure they are not, or no longer, committed). */
    async #deleteParts(ids: string[]): Promise<void> {
        const tables: Table[] = [this.#kv];
        for (const name of await this.#vectorTableNames())
            tables.push(await this.#db.openTable(name));
        try {
            for (const table of tables)
                for (let i = 0; i < ids.length; i += ID_CHUNK) {
                    const where = sqlIn("logId", ids.slice(i, i + ID_CHUNK));
                    if (await table.countRows(where) > 0)
                        await withCommitRetry(() => table.delete(where));
                }
        } finally {
            for (const table of tables)
                if (table !== this.#kv)
                    table.close();
        }
    }

    /** The table of an embedding space; created with `dimension` when given and missing, else null when missing. */
    async #vectorTable(space: string, dimension: number): Promise<{table: Table, dimension: number}>;
    async #vectorTable(space: string): Promise<{table: Table, dimension: number} | null>;
    async #vectorTable(space: string, dimension?: number): Promise<{table: Table, dimension: number} | null> {
        let found = this.#vectorTables.get(space);
        if (found == null) {
            const name = vectorTableName(space);
            if (!(await this.#db.tableNames()).includes(name)) {
                if (dimension == null)
                    return null;
                await createTablesAtomically(this.#db, this.#lance, this.dir, [{name, schema: vectorSchema(this.#lance, dimension)}]);
            }
            const table = await this.#db.openTable(name);

            const field = (await table.schema()).fields.find((f) => f.name === "vector");
            const size = (field?.type as {listSize?: number} | undefined)?.listSize;
            if (size == null) {
                table.close();
                throw new StoreError("STORE_CORRUPT", `The store's table for embedding space ${space} has no vector column. Delete the store's ${name}.lance folder to rebuild it.`);
            }
            found = {table, dimension: size};
            this.#vectorTables.set(space, found);
        }
        if (dimension != null && dimension !== found.dimension)
            throw invalid(`Embedding space ${space} has ${found.dimension} dimensions; this vector has ${dimension}. Use a new space id for a new embedding model.`);

        return found;
    }

    async #vectorTableNames(): Promise<string[]> {
        return (await this.#db.tableNames()).filter((name) => name.startsWith(VECTOR_TABLE_PREFIX));
    }

    #assertOpen(): void {
        if (this.#closed)
            throw new StoreError("STORE_UNAVAILABLE", "The log store was closed; open it again.");
    }

    #assertWritable(): void {
        this.#assertOpen();
        if (this.readOnly)
            throw new StoreError("STORE_UNAVAILABLE", `The log store at ${this.dir} was opened read-only; open it for writing to change it.`);
    }
}

/** Refuses a path that cannot hold a store before LanceDB sees it (LanceDB would create tables anywhere). */
async function checkStoreDir(dir: string, readOnly: boolean): Promise<void> {
    const unavailable = (why: string, cause?: unknown) => new StoreError("STORE_UNAVAILABLE", `Cannot use ${dir} as the log store: ${why}`, {cause});
    try {
        const stat = await fs.stat(dir);
        if (!stat.isDirectory())
            throw unavailable("it is a file, not a folder. Choose a folder for the store.");
    } catch (err) {
        if (err instanceof StoreError)
            throw err;
        if ((err as NodeJS.ErrnoException).code !== "ENOENT")
            throw unavailable(`it cannot be read (${(err as NodeJS.ErrnoException).code}). Check its permissions.`, err);
        if (readOnly)
            throw unavailable("there is no store there yet. Open it once for writing to create it.");
        try {
            await fs.mkdir(dir, {recursive: true});
        } catch (mkdirErr) {
            throw unavailable(`the folder cannot be created (${(mkdirErr as NodeJS.ErrnoException).code}). Check the parent folder's permissions.`, mkdirErr);
        }
    }
    let entries: string[];
    try {
        entries = await fs.readdir(dir);
        await fs.access(dir, readOnly ? fs.constants.R_OK : fs.constants.R_OK | fs.constants.W_OK);
    } catch (err) {
        throw unavailable(`it cannot be ${readOnly ? "read" : "read and written"} (${(err as NodeJS.ErrnoException).code}). Check its permissions.`, err);
    }
    const visible = entries.filter((name) => !name.startsWith("."));
    if (visible.length > 0 && !visible.includes(`${META_TABLE}.lance`))
        throw unavailable("the folder holds other files and is not a Hindsight store. Choose an empty folder.");
}
