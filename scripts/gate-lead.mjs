// `node scripts/gate-lead.mjs RUN_DIR [LEAD]`: how often the `gate` flag's full-text lead (the best BM25 hit scores at
// least LEAD times the next; default the engine's GATE_TEXT_LEAD) keeps memory for each EvoEval set's tasks, split
// by whether the task's parent is the best hit. Reads a run's log store (RUN_DIR/store, e.g. rebuilt with
// `hindsight eval --rebuild-store`) and eval/data; no model is loaded. Prints one JSON document: per set, for tasks
// 1-40 (where the lead was chosen) and 41-100 (a check on tasks it was not chosen on).
import fs from "node:fs";
import path from "node:path";
import {fileURLToPath} from "node:url";
import zlib from "node:zlib";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const [runDir, leadArg] = process.argv.slice(2);
if (runDir == null || !fs.existsSync(path.join(runDir, "store"))) {
    console.error("Usage: node scripts/gate-lead.mjs RUN_DIR [LEAD]   (RUN_DIR/store must hold the run's logs: `hindsight eval --rebuild-store` makes it)");
    process.exit(2);
}
const {LogStore, GATE_TEXT_LEAD} = await import(path.join(root, "dist/engine.mjs"));
const lead = leadArg == null ? GATE_TEXT_LEAD : Number(leadArg);
if (!(lead >= 1)) {
    console.error(`LEAD must be a number >= 1 (a ratio of BM25 scores), got ${leadArg}.`);
    process.exit(2);
}
const readJsonl = (file) => zlib.gunzipSync(fs.readFileSync(file)).toString("utf8").split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l));
const data = path.join(root, "eval/data");
const entryPoint = new Map(readJsonl(path.join(data, "humaneval/HumanEval.jsonl.gz")).map((r) => [r.task_id, r.entry_point]));

const store = await LogStore.open(path.join(runDir, "store"));
const result = {lead, sets: {}};
try {
    for (const set of ["concise", "verbose", "difficult", "creative", "tool_use"]) {
        const rows = readJsonl(path.join(data, `evoeval/EvoEval_${set}.jsonl.gz`));
        const ranges = {"1-40": rows.slice(0, 40), "41-100": rows.slice(40, 100)};
        result.sets[set] = {};
        for (const [range, tasks] of Object.entries(ranges)) {
            const count = {parentFirst: 0, parentFirstOpen: 0, otherwise: 0, otherwiseOpen: 0};
            for (const row of tasks) {
                // same-id sets (concise, verbose) have no `parent`: their parent is the HumanEval task of their id
                const parent = entryPoint.get(row.parent ?? row.task_id);
                const hits = await store.searchText(row.prompt.trim(), {k: 10, excludeOutcomes: ["rejected", "tests-failed"]});
                const best = hits[0] == null ? null : await store.getLog(hits[0].id);
                const first = best != null && best.task.includes(`def ${parent}(`);
                const open = hits.length < 2 || hits[0].score >= lead * hits[1].score;
                count[first ? "parentFirst" : "otherwise"]++;
                if (open)
                    count[first ? "parentFirstOpen" : "otherwiseOpen"]++;
            }
            result.sets[set][range] = count;
        }
    }
} finally {
    store.close();
}
console.log(JSON.stringify(result, null, 2));
