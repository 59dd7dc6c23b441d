import type {GenerateResult, Generator} from "../generation/Generator.js";
import type {LogRecord} from "../store/index.js";
import type {KvEncoding} from "../kv/logKv.js";
import type {MemoryModeName} from "../options.js";

/** What a memory mode may use while a request runs. */
export interface ModeContext {
    readonly request: string;
    readonly maxTokensPerRound: number;
    readonly signal?: AbortSignal;
    readonly generator: Generator;
    /** Counts an extra model call (reflection's) into the request's token figures. */
    account(result: GenerateResult): void;
}

/**
 * How one memory mode brings the retrieved logs into a round (one object per request, from `session/modes/`):
 * - `retrieves`: whether rounds retrieve logs at all;
 * - `kv`: which KV of each log it stacks in front of the prompt (the encoding: LAG's is the last response encoded
 *   with its log before it; see `KvEncoding`), or null for none. A stacked mode re-stacks only when the set of
 *   logs that fit changes (`StackedPrefix`); a mode with none starts each request on a cleared sequence;
 * - `order`: the stacking order, `"rank"` (best first, as retrieved) or `"near"` (best last, next to the prompt);
 * - `epic`: whether every stacked log after the first part (the sink, or else the first log) has its first
 *   `EPIC_RECOMPUTE_TOKENS` tokens evaluated again at its place (`kv/epicStack.ts`); the stored KV is the same,
 *   only the stacking differs. Defaults to false;
 * - `textLead`: when set, full-text retrieval counts only a clear best match (`RetrieveOptions.minTextLead`);
 * - `notes`: what it adds to the system prompt for the logs that fit (called again whenever fitting drops one).
 */
export interface MemoryMode {
    readonly name: MemoryModeName;
    readonly retrieves: boolean;
    readonly kv: KvEncoding | null;
    readonly order: "rank" | "near";
    readonly epic?: boolean;
    readonly textLead?: number;
    notes(logs: readonly LogRecord[], ctx: ModeContext): Promise<string>;
}

export type MemoryModeFactory = () => MemoryMode;

/** The logs as text for the system prompt: each past task with its last response, or its whole log. */
export function pastText(logs: readonly LogRecord[], whole: boolean): string {
    return logs.map((l, i) => `[${i + 1}] Past task: ${l.task}\n${whole ? l.logText.trim() : l.lastResponse}`).join("\n\n");
}

export const noNotes = async (): Promise<string> => "";
