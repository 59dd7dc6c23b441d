import type {AskMode} from "../options.js";
import type {MemoryMode, MemoryModeFactory} from "./MemoryMode.js";
import {kv} from "./modes/kv.js";
import {kvAlone} from "./modes/kvAlone.js";
import {none} from "./modes/none.js";
import {reflection} from "./modes/reflection.js";
import {textAll} from "./modes/textAll.js";
import {textLast} from "./modes/textLast.js";

/** Every memory mode, by name (its name is also listed in `askModes`, options.ts). */
const registry: Record<AskMode, MemoryModeFactory> = {
    "none": none,
    "text-last": textLast,
    "text-all": textAll,
    "reflection": reflection,
    "kv-alone": kvAlone,
    "kv": kv
};

/** A fresh mode object for one request. */
export function createMemoryMode(mode: AskMode): MemoryMode {
    const factory = registry[mode] as MemoryModeFactory | undefined;
    if (factory == null)
        throw new RangeError(`Unknown memory mode "${mode}".`);
    return factory();
}
