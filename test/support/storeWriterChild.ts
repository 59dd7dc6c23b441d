/**
 * A writer process for the store's crash and concurrency tests.
 *   node storeWriterChild.js <storeDir> <prefix> <count|"forever"> <kvBytes> [churn]
 * Adds logs `<prefix>-<i>` with a KV blob of `kvBytes` deterministic bytes and an embedding, printing
 * `added <id>` after each commit. With `churn`, then marks its logs accepted, adds a second KV
 * fingerprint ("fp-two", the bytes 1..8) to each, replaces their embeddings, deletes its first 5 logs,
 * optimizing the store after each delete. Exits 0 when done, 1 on an error.
 */
import {LogStore} from "../../src/engine/store/index.js";
import {kvBytesFor, tokensFor, vectorFor} from "./storeFixtures.js";

const [dir, prefix, countArg, kvBytesArg, mode] = process.argv.slice(2);
if (dir == null || prefix == null || countArg == null || kvBytesArg == null) {
    process.stderr.write("usage: storeWriterChild <storeDir> <prefix> <count|forever> <kvBytes>\n");
    process.exit(2);
}
const count = countArg === "forever" ? Infinity : Number(countArg);
const kvBytes = Number(kvBytesArg);

// Several writers can be lined up to open the store at the same moment.
const startAt = Number(process.env.STORE_TEST_START_AT ?? 0);
if (startAt > Date.now())
    await new Promise((resolve) => setTimeout(resolve, startAt - Date.now()));

try {
    const store = await LogStore.open(dir);
    process.stdout.write("opened\n");
    for (let i = 0; i < count; i++) {
        const id = `${prefix}-${i}`;
        const nTokens = 16;
        await store.addLog({
            id,
            workspace: i % 2 === 0 ? "even" : "odd",
            task: `task ${id} refactor the parser`,
            lastResponse: `response for ${id}`,
            logText: `log of ${id}`,
            nTokens
        }, {
            kv: [{fingerprint: "fp-test", nTokens, tokens: tokensFor(id, nTokens), data: kvBytesFor(id, kvBytes)}],
            embedding: {space: "test-space", vector: vectorFor(id)}
        });
        process.stdout.write(`added ${id}\n`);
    }
    if (mode === "churn") {
        for (let i = 0; i < count; i++) {
            const id = `${prefix}-${i}`;
            await store.setOutcome(id, "accepted");
            await store.putKv({logId: id, fingerprint: "fp-two", nTokens: 2, tokens: [1, 2], data: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8])});
            await store.putEmbedding(id, {space: "test-space", vector: vectorFor(id)});
        }
        // Compacting while the other writers delete is what makes LanceDB report commit conflicts.
        for (let i = 0; i < Math.min(5, count); i++) {
            await store.deleteLog(`${prefix}-${i}`);
            await store.optimize();
        }
    }
    store.close();
} catch (err) {
    process.stderr.write(`writer ${prefix} failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    if (err instanceof Error && err.cause != null)
        process.stderr.write(`cause: ${err.cause instanceof Error ? err.cause.message : JSON.stringify(err.cause)}\n`);
    process.exit(1);
}
