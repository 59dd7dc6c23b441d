import {pastText, type MemoryModeFactory} from "../MemoryMode.js";

/** `text-last`: each retrieved log's last response, as text in the system prompt. */
export const textLast: MemoryModeFactory = () => ({name: "text-last", retrieves: true, kv: null, order: "rank", notes: async (logs) => pastText(logs, false)});
