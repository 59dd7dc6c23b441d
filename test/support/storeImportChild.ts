/**
 * An importing process for the store's concurrency tests.
 *   node storeImportChild.js <storeDir> <exportFile>
 * Waits until STORE_TEST_START_AT (so several start at one moment), imports the file and prints the
 * result as JSON. Exits 0 when done, 1 on an error.
 */
import {LogStore} from "../../src/engine/store/index.js";

const [dir, file] = process.argv.slice(2);
if (dir == null || file == null) {
    process.stderr.write("usage: storeImportChild <storeDir> <exportFile>\n");
    process.exit(2);
}
const startAt = Number(process.env.STORE_TEST_START_AT ?? 0);
try {
    const store = await LogStore.open(dir);
    if (startAt > Date.now())
        await new Promise((resolve) => setTimeout(resolve, startAt - Date.now()));
    const result = await store.importFrom(file);
    process.stdout.write(JSON.stringify(result) + "\n");
    store.close();
} catch (err) {
    process.stderr.write(`import failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
}
