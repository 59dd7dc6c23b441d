/**
 * The store's layout in one place: table names, column types, the schema version and the migrations
 * that bring an older store up to it. A store records its version in the `meta` table
 * (`{key: "schemaVersion", value: "1"}`); a store made by a newer Hindsight is refused, never rewritten.
 *
 * Migrations must be idempotent: two processes opening an old (or new, empty) store at the same time
 * both run them, and a migration interrupted by a crash is run again on the next open.
 */
import {createHash, randomUUID} from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import type {Connection, Index} from "@lancedb/lancedb";
import type * as Arrow from "apache-arrow";
import {StoreError} from "../errors.js";
import type {LanceModules} from "./lance.js";
import {withCommitRetry} from "./lance.js";

/** The layout this build reads and writes. Bump it together with a new entry in `MIGRATIONS`. */
export const SCHEMA_VERSION = 2;

export const META_TABLE = "meta";
export const LOGS_TABLE = "logs";
export const KV_TABLE = "kv";
export const VECTOR_TABLE_PREFIX = "vectors_";

const SCHEMA_VERSION_KEY = "schemaVersion";

export function metaSchema({arrow}: LanceModules): Arrow.Schema {
    return new arrow.Schema([
        new arrow.Field("key", new arrow.Utf8(), false),
        new arrow.Field("value", new arrow.Utf8(), false)
    ]);
}

/**
 * The `logs` table as version 1 made it. Version 2 added `files` (a log's file list as JSON text, `[]` for the
 * logs that were there before), with `addColumns`, so a store of either age ends with the same columns.
 */
export function logsSchemaV1({arrow}: LanceModules): Arrow.Schema {
    return new arrow.Schema([
        new arrow.Field("id", new arrow.Utf8(), false),
        new arrow.Field("createdAt", new arrow.Utf8(), false),
        new arrow.Field("workspace", new arrow.Utf8(), false),
        new arrow.Field("task", new arrow.Utf8(), false),
        new arrow.Field("lastResponse", new arrow.Utf8(), false),
        new arrow.Field("logText", new arrow.Utf8(), false),
        new arrow.Field("outcome", new arrow.Utf8(), false),
        new arrow.Field("pinned", new arrow.Bool(), false),
        new arrow.Field("nTokens", new arrow.Int32(), false)
    ]);
}

export function kvSchema({arrow}: LanceModules): Arrow.Schema {
    return new arrow.Schema([
        new arrow.Field("logId", new arrow.Utf8(), false),
        new arrow.Field("fingerprint", new arrow.Utf8(), false),
        new arrow.Field("nTokens", new arrow.Int32(), false),
        new arrow.Field("tokens", new arrow.List(new arrow.Field("item", new arrow.Int32(), true)), false),
        // Binary, not LargeBinary: LanceDB's JS layer does not accept LargeBinary. One blob may not exceed 2 GiB.
        new arrow.Field("data", new arrow.Binary(), false),
        // Kept apart from `data` so sizes can be listed without reading the blobs.
        new arrow.Field("bytes", new arrow.Int64(), false),
        new arrow.Field("createdAt", new arrow.Utf8(), false)
    ]);
}

/** One table per embedding space, because the vector column has that space's fixed dimension. */
export function vectorSchema({arrow}: LanceModules, dimension: number): Arrow.Schema {
    return new arrow.Schema([
        new arrow.Field("logId", new arrow.Utf8(), false),
        new arrow.Field("space", new arrow.Utf8(), false),
        new arrow.Field("vector", new arrow.FixedSizeList(dimension, new arrow.Field("item", new arrow.Float32(), true)), false),
        new arrow.Field("createdAt", new arrow.Utf8(), false)
    ]);
}

/**
 * `vectors_<readable part>_<hash>`: table names allow only a few characters, so the space id is reduced
 * to them for readability and a hash of the full id keeps two spaces that reduce alike apart.
 */
export function vectorTableName(space: string): string {
    const readable = space.toLowerCase().replace(/[^a-z0-9]+/g, "_").replace(/^_+|_+$/g, "").slice(0, 40);
    const hash = createHash("sha256").update(space, "utf8").digest("hex").slice(0, 12);
    return `${VECTOR_TABLE_PREFIX}${readable}_${hash}`;
}

type Migration = (db: Connection, lance: LanceModules, dir: string) => Promise<void>;

/** `MIGRATIONS[v]` brings a store from version `v - 1` to `v`. Version 0 is a new, empty store. */
const MIGRATIONS: Readonly<Record<number, Migration>> = {
    1: async (db, lance, dir) => {
        const {Index} = lance.lancedb;
        // `meta` first: once it is there the folder is recognised as a store; the version row comes last.
        await createTablesAtomically(db, lance, dir, [
            {name: META_TABLE, schema: metaSchema(lance)},
            {name: LOGS_TABLE, schema: logsSchemaV1(lance), indexes: [
                {column: "task", config: Index.fts()},
                {column: "lastResponse", config: Index.fts()},
                {column: "id", config: Index.btree()}
            ]},
            {name: KV_TABLE, schema: kvSchema(lance), indexes: [{column: "logId", config: Index.btree()}]}
        ]);
    },
    // The files each log read or was given (stale-log checks). Old logs get `[]`: no files, so never stale.
    2: async (db) => {
        const logs = await db.openTable(LOGS_TABLE);
        try {
            // Idempotent: another process (or an interrupted run) may have added it already.
            if ((await logs.schema()).fields.some((field) => field.name === "files"))
                return;
            await withCommitRetry(() => logs.addColumns([{name: "files", valueSql: "'[]'"}]));
        } catch (err) {
            if ((await logs.schema()).fields.some((field) => field.name === "files"))
                return;
            throw err;
        } finally {
            logs.close();
        }
    }
    // 3: async (db, lance, dir) => { ...`table.addColumns(...)`, or `createTablesAtomically` for a new table... }
};

/**
 * Brings the store in `db` to `SCHEMA_VERSION` and returns the version found.
 * Refuses a store made by a newer Hindsight, and, when `readOnly`, a store that would need migrating.
 * `target` stops at an older version (tests make an old store with it). Defaults to `SCHEMA_VERSION`.
 */
export async function ensureSchema(db: Connection, lance: LanceModules, dir: string, readOnly: boolean,
    target: number = SCHEMA_VERSION): Promise<number> {
    const found = await readSchemaVersion(db);
    if (found > SCHEMA_VERSION)
        throw new StoreError("STORE_UNAVAILABLE",
            `The log store at ${dir} was made by a newer Hindsight (store version ${found}; this Hindsight reads up to version ${SCHEMA_VERSION}). ` +
            "Update Hindsight, or choose another store folder.");

    if (found >= target)
        return found;

    if (readOnly)
        throw new StoreError("STORE_UNAVAILABLE",
            found === 0
                ? `There is no log store at ${dir} yet. Open it once for writing to create it.`
                : `The log store at ${dir} needs upgrading (version ${found} to ${SCHEMA_VERSION}); open it once for writing.`);

    for (let version = found + 1; version <= target; version++) {
        const migrate = MIGRATIONS[version];
        if (migrate == null)
            throw new StoreError("STORE_CORRUPT", `No migration to store version ${version}; this build of Hindsight is broken.`);

        await migrate(db, lance, dir);
        await writeMeta(db, SCHEMA_VERSION_KEY, String(version));
    }
    return found;
}

/** The version recorded in `meta`; 0 when there is no `meta` table or no version row yet. */
export async function readSchemaVersion(db: Connection): Promise<number> {
    const names = await db.tableNames();
    if (!names.includes(META_TABLE))
        return 0;

    const meta = await db.openTable(META_TABLE);
    try {
        const rows = await meta.query().toArray() as {key: string, value: string}[];
        // Two processes creating a store at once may both insert the row; the highest value wins.
        let version = 0;
        for (const row of rows) {
            if (row.key !== SCHEMA_VERSION_KEY)
                continue;

            const value = Number(row.value);
            if (!Number.isInteger(value) || value < 0)
                throw new StoreError("STORE_CORRUPT", `The log store's version record is unreadable (${JSON.stringify(row.value)}). Choose another store folder.`);

            version = Math.max(version, value);
        }
        return version;
    } finally {
        meta.close();
    }
}

/** Sets one `meta` row. Exported for migrations and tests (a test writes a future version). */
export async function writeMeta(db: Connection, key: string, value: string): Promise<void> {
    const meta = await db.openTable(META_TABLE);
    try {
        await withCommitRetry(() => meta.mergeInsert("key").whenMatchedUpdateAll().whenNotMatchedInsertAll().execute([{key, value}]));
    } finally {
        meta.close();
    }
}

export interface TableSpec {
    name: string;
    schema: Arrow.Schema;
    indexes?: {column: string, config: Index}[];
}

const STAGING_PREFIX = ".staging-";

/**
 * Creates the tables of `specs` that `db` lacks, so that no process ever sees one half made: each is
 * built (with its indexes) in a hidden staging folder inside `dir` and then renamed into place. LanceDB
 * lists any `<name>.lance` folder as a table, even one whose creation another process is still writing
 * or that a killed process left without a manifest; a rename is all or nothing. When another process
 * renames its copy in first, ours is dropped. Tables are renamed in the order given.
 */
export async function createTablesAtomically(db: Connection, lance: LanceModules, dir: string, specs: readonly TableSpec[]): Promise<void> {
    const existing = new Set(await db.tableNames());
    const missing = specs.filter((spec) => !existing.has(spec.name));
    if (missing.length === 0)
        return;

    const staging = path.join(dir, `${STAGING_PREFIX}${process.pid}-${randomUUID()}`);
    try {
        const stagingDb = await lance.lancedb.connect(staging);
        try {
            for (const spec of missing) {
                const table = await stagingDb.createEmptyTable(spec.name, spec.schema);
                try {
                    for (const {column, config} of spec.indexes ?? [])
                        await table.createIndex(column, {config});
                } finally {
                    table.close();
                }
            }
        } finally {
            stagingDb.close();
        }
        for (const spec of missing) {
            const target = path.join(dir, `${spec.name}.lance`);
            try {
                await fs.rename(path.join(staging, `${spec.name}.lance`), target);
            } catch (err) {
                const code = (err as NodeJS.ErrnoException).code;
                // Another process's complete copy is there (Linux says ENOTEMPTY, Windows EPERM).
                if (!(code === "ENOTEMPTY" || code === "EEXIST" || code === "EPERM") || !await pathExists(target))
                    throw err;
            }
        }
    } finally {
        await fs.rm(staging, {recursive: true, force: true});
    }
}

/** Removes staging folders that a killed process left behind (older than `olderThanMs`). */
export async function removeStaleStaging(dir: string, olderThanMs: number): Promise<void> {
    for (const name of await fs.readdir(dir)) {
        if (!name.startsWith(STAGING_PREFIX))
            continue;

        const full = path.join(dir, name);
        const stat = await fs.stat(full).catch(() => undefined);
        if (stat != null && Date.now() - stat.mtimeMs > olderThanMs)
            await fs.rm(full, {recursive: true, force: true});
    }
}

async function pathExists(file: string): Promise<boolean> {
    return fs.access(file).then(() => true, () => false);
}
