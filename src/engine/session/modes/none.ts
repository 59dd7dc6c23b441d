import {noNotes, type MemoryModeFactory} from "../MemoryMode.js";

/** `none`: no past sessions at all (the baseline). */
export const none: MemoryModeFactory = () => ({name: "none", retrieves: false, kv: null, order: "rank", notes: noNotes});
