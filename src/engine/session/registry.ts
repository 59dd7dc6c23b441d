import {HindsightError} from "../errors.js";
import {askModes, kvVariantFlags, parseModeName, type AskMode, type KvVariantMode, type MemoryModeName} from "../options.js";
import type {MemoryMode, MemoryModeFactory} from "./MemoryMode.js";
import {kv} from "./modes/kv.js";
import {kvAlone} from "./modes/kvAlone.js";
import {kvVariant} from "./modes/kvVariant.js";
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

/** A fresh mode object for one request: a named mode, or a `kv+flags` variant (`kvVariant`). */
export function createMemoryMode(mode: MemoryModeName): MemoryMode {
    const parsed = parseModeName(mode);
    if (parsed == null)
        throw new HindsightError("INVALID_ARGUMENT", `Unknown memory mode "${mode}": one of ${askModes.join(", ")}, or kv / kv-alone followed by +flags from ${kvVariantFlags.join(", ")} (in that order).`);
    if (parsed.flags.length > 0)
        return kvVariant(mode as KvVariantMode, parsed.base as "kv" | "kv-alone", parsed.flags);
    return registry[parsed.base]();
}
