import {Retriever} from "../retrieval/Retriever.js";
import {kvFingerprint} from "../kv/logKv.js";
import {GATE_TEXT_LEAD} from "../session/modes/kvVariant.js";
import type {ModelRuntime} from "../runtime/ModelRuntime.js";
import type {LogStore} from "../store/index.js";
import {InlineCompleter, memoryQuery, type InlineContext} from "./inlineLogic.js";
import {InlineModel, MAX_SEED_CELLS, type InlineSeed} from "./InlineModel.js";

export interface InlineCompletionsOptions {
    /** Milliseconds to wait after the last keystroke. */
    delayMs(): number;
    /** Tokens a suggestion may have. Defaults to 64. */
    maxTokens?: number;
    /** Reports errors (the user sees no suggestion, never an error). */
    onError?(err: unknown): void;
    /** A line for the host's log (which past session seeds the suggestions). */
    onLog?(line: string): void;
}

/**
 * Inline suggestions over a loaded model, everything but the editor: the debounced, cancellable completer
 * (inlineLogic.ts) on the inline model's own context, and, when the context allows `memory`, the most relevant
 * past session (BM25 over the identifiers before the cursor; rejected and failed sessions left out) that has KV
 * for this model, stacked in front of the prompt as the chat does with its logs.
 */
export class InlineCompletions {
    public readonly model: InlineModel;
    private readonly completer: InlineCompleter;
    private readonly retriever: Retriever;
    private lastSeed: {key: string, seed: InlineSeed | null} | undefined;

    public constructor(public readonly runtime: ModelRuntime, store: LogStore, options: InlineCompletionsOptions) {
        this.model = new InlineModel(runtime);
        this.retriever = new Retriever(store, null);
        this.completer = new InlineCompleter({
            fimTokens: () => this.model.fimTokens(),
            generate: async (prompt, o) => {
                const workspace = o.context.memory?.workspace;
                const seed = workspace != null ? await this.findSeed(o.context.prefix, workspace).catch(() => null) : null;
                if (seed != null && seed.id !== this.model.seededWith)
                    options.onLog?.(`[inline] seeded with past session ${seed.id} (${seed.tokens.length} tokens)`);
                return this.model.generate(prompt, {...o, seed});
            }
        }, {delayMs: () => options.delayMs(), maxTokens: options.maxTokens, onError: (err) => options.onError?.(err)});
    }

    /** A suggestion for the cursor in `context`, or null (nothing to suggest, cancelled, or an error). */
    public complete(context: InlineContext, signal: AbortSignal): Promise<string | null> {
        return this.completer.complete(context, signal);
    }

    /** The past session to seed a suggestion with, if one is relevant and has KV for the loaded model (cached per query). */
    private async findSeed(prefix: string, workspace: string): Promise<InlineSeed | null> {
        const query = memoryQuery(prefix);
        if (query === "")
            return null;
        const key = `${workspace}\u0000${query}`;
        if (this.lastSeed?.key === key)
            return this.lastSeed.seed;
        const seed = await this.retriever.findSeed(query, {workspace, fingerprint: kvFingerprint(this.runtime), maxCells: MAX_SEED_CELLS,
            minTextLead: GATE_TEXT_LEAD});
        this.lastSeed = {key, seed};
        return seed;
    }

    public async dispose(): Promise<void> {
        this.completer.dispose();
        await this.model.dispose();
    }
}
