import {lagEncoding} from "../../kv/logKv.js";
import {noNotes, type MemoryModeFactory} from "../MemoryMode.js";

/** `kv` (LAG): the KV of each log's last response, encoded with the whole log before it, stacked in front of the prompt. */
export const kv: MemoryModeFactory = () => ({name: "kv", retrieves: true, kv: lagEncoding, order: "rank", notes: noNotes});
