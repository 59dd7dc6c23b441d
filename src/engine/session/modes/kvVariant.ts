import {lagEncoding} from "../../kv/logKv.js";
import type {KvVariantFlag, KvVariantMode} from "../../options.js";
import {noNotes, type MemoryMode} from "../MemoryMode.js";

/**
 * The system prompt's note for `frame`: the stacked sessions are related past work, not the task. Small models may
 * ignore it; the evaluation measures whether it helps.
 */
export function frameNote(n: number, withTask: boolean): string {
    return `Before this conversation you were shown ${n === 1 ? "one past session" : `${n} past sessions`} on related tasks ` +
        `(${withTask ? "each with its task and answer" : "their final answers"}${n > 1 ? ", the most relevant nearest" : ""}). ` +
        "Their requirements may differ from the current task: reuse what applies, but follow the current task exactly " +
        "where it differs.";
}

/**
 * `gate`'s lead: the best full-text hit must score at least this many times the next. Chosen by BM25 alone (no
 * model) on the first 40 tasks of each EvoEval set against the 1.5B run's 164 logs: at 1.3 the gate stays open for
 * 31 of 32 concise tasks whose parent ranks first and closes for 28 of 36 creative tasks whose parent does not
 * (eval/README.md has the table and a check on tasks 41-100).
 */
export const GATE_TEXT_LEAD = 1.3;

/**
 * A variant of `kv` or `kv-alone` (issue 12): `task` keeps each log's task cells with its last response, `sink`
 * encodes logs after one shared prefix stacked once, `epic` recomputes each stacked log's first tokens at its place
 * (the encoding, hence the stored KV, is the one without `epic`), `near` stacks the best log last, `frame` adds
 * `frameNote`, `gate` stacks nothing from full text without a clear best match (`GATE_TEXT_LEAD`).
 */
export function kvVariant(name: KvVariantMode, base: "kv" | "kv-alone", flags: readonly KvVariantFlag[]): MemoryMode {
    const has = (f: KvVariantFlag) => flags.includes(f);
    return {
        name,
        retrieves: true,
        kv: {...lagEncoding, alone: base === "kv-alone", task: has("task"), sink: has("sink")},
        order: has("near") ? "near" : "rank",
        epic: has("epic"),
        textLead: has("gate") ? GATE_TEXT_LEAD : undefined,
        notes: has("frame") ? async (logs) => logs.length === 0 ? "" : frameNote(logs.length, has("task")) : noNotes
    };
}
