import {pastText, type MemoryModeFactory} from "../MemoryMode.js";

/** `text-all`: each retrieved log's whole trace, as text in the system prompt (re-prefilled every request). */
export const textAll: MemoryModeFactory = () => ({name: "text-all", retrieves: true, kv: null, order: "rank", notes: async (logs) => pastText(logs, true)});
