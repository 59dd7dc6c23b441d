import type {LlamaContextSequence} from "node-llama-cpp";
import type {ModelRuntime} from "../runtime/ModelRuntime.js";
import {assertCanRecompute, loadEpicStack} from "./epicStack.js";
import {loadStackedLogs, type StoredKv} from "./KvLogCodec.js";

/** How a set of logs is stacked. */
export interface StackOptions {
    /**
     * Tokens at the start of every stacked log but the first that are evaluated again at their new place (`epic`,
     * `loadEpicStack`; f16/f32 KV only). Defaults to 0: every cell is moved as stored (`loadStackedLogs`).
     */
    recompute?: number;
}

/**
 * Keeps track of the logs stacked at the start of one sequence (chat and inline each own one), so that a set of
 * logs is stacked again only when it changed or the sequence lost those cells (another user of the sequence
 * cleared it). What follows the prefix belongs to the generator, which never erases below `cells`.
 */
export class StackedPrefix {
    /** The stacked set (`variant`, the tokens recomputed when any, then the ids), or null before the first `stack`/`clear`. */
    private key: string | null = null;
    private tokens: readonly number[] = [];

    public constructor(private readonly runtime: ModelRuntime, public readonly sequence: LlamaContextSequence) {}

    /** Cells at the start of the sequence that hold stacked logs. */
    public get cells(): number {
        return this.tokens.length;
    }

    /** The ids stacked now, in order (empty: none). */
    public get ids(): string[] {
        return this.key == null || this.key === "" ? [] : this.key.slice(this.key.indexOf(":") + 1).split(",");
    }

    /** Whether the sequence still starts with the stacked cells. */
    private holds(): boolean {
        const current = this.sequence.contextTokens;
        if (current.length < this.tokens.length)
            return false;
        return this.tokens.every((t, i) => current[i] === t);
    }

    /**
     * Makes the sequence start with the KV of the logs `ids` (in order), loaded by `load` only when the set (or
     * its `variant`, e.g. a different encoding of the same logs or a mode that stacks them otherwise, or the way they
     * are stacked) changed. Returns whether it re-stacked. A recomputing stack on quantized KV is refused
     * (`KV_TYPE_UNSUPPORTED`) before `load` runs.
     */
    public async stack(ids: readonly string[], load: () => Promise<readonly StoredKv[]>, variant = "", options: StackOptions = {}): Promise<boolean> {
        const recompute = options.recompute ?? 0;
        const key = ids.length === 0 ? "" : `${variant}${recompute > 0 ? `~${recompute}` : ""}:${ids.join(",")}`;
        if (key === this.key && this.holds())
            return false;
        if (recompute > 0 && ids.length > 0)
            assertCanRecompute(this.runtime);
        this.key = null;
        this.tokens = [];
        const kvs = ids.length === 0 ? [] : await load();
        if (kvs.length === 0)
            await this.sequence.clearHistory();
        else if (recompute > 0)
            await loadEpicStack(this.runtime, this.sequence, kvs, recompute);
        else
            await loadStackedLogs(this.runtime, this.sequence, kvs);
        this.tokens = kvs.flatMap((kv) => kv.tokens);
        this.key = key;
        return true;
    }

    /** Nothing stacked: clears the sequence unless it already holds no stacked logs. */
    public async clear(): Promise<void> {
        await this.stack([], async () => []);
    }

    /** Forgets what was stacked: the next `stack` or `clear` loads (or clears) again. */
    public reset(): void {
        this.key = null;
        this.tokens = [];
    }
}
