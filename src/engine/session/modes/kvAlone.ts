import {lagEncoding} from "../../kv/logKv.js";
import {noNotes, type MemoryModeFactory} from "../MemoryMode.js";

/**
 * `kv-alone`: the KV of each log's last response encoded without its earlier context (stored under the
 * fingerprint plus `#alone`), stacked as `kv` does: the paper's Block-Attention-style baseline.
 */
export const kvAlone: MemoryModeFactory = () => ({name: "kv-alone", retrieves: true, kv: {...lagEncoding, alone: true}, order: "rank", notes: noNotes});
