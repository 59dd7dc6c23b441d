import type {LlamaContext, LlamaContextSequence, Token} from "node-llama-cpp";
import type {ModelRuntime} from "../../engine/index.js";
import type {StoredKv} from "../engineModule.js";
import {requireEngineModule} from "../engineLoader.js";
import type {FimTokens, InlineBackend, InlinePrompt} from "./inlineLogic.js";

/** Context size of the inline context: small, so it costs little memory next to the chat context. */
const INLINE_CONTEXT_SIZE = 2048;
/** A past session's KV seeds suggestions only when it leaves most of the inline context to the prompt. */
export const MAX_SEED_CELLS = 768;

/** A past session's stored KV, stacked in front of the inline prompt (`inline.useMemory`). */
export type InlineSeed = StoredKv;

/**
 * The inline-suggestion backend over a loaded model: its own LlamaContext and sequence, separate from the chat
 * engine's, so completions and chat never evict each other's cache. One generation at a time; a prompt that
 * shares its start with the previous one re-evaluates only the new tokens (typing on costs a few tokens).
 */
export class InlineModel implements InlineBackend {
    private context: Promise<LlamaContext> | undefined;
    private seq: Promise<LlamaContextSequence> | undefined;
    private queue: Promise<unknown> = Promise.resolve();
    private readonly fim: FimTokens | null;
    private disposed = false;
    /** The seed stacked at the start of the sequence ("" = none) and its cells. */
    private seedId = "";
    private seedCells = 0;

    public constructor(public readonly runtime: ModelRuntime) {
        this.fim = detectFimTokens(runtime);
    }

    public async fimTokens(): Promise<FimTokens | null> {
        return this.fim;
    }

    /** The one sequence of the inline context, created on first use (a context hands each sequence out once). */
    private sequence(): Promise<LlamaContextSequence> {
        if (this.seq == null) {
            this.context = this.runtime.createContext({sequences: 1, contextSize: Math.min(INLINE_CONTEXT_SIZE, this.runtime.options.contextSize)});
            this.seq = this.context.then((context) => context.getSequence());
            this.seq.catch(() => {
                this.context = undefined;
                this.seq = undefined;
            });
        }
        return this.seq;
    }

    /** The log whose KV is stacked in front of the prompts now, if any. */
    public get seededWith(): string | null {
        return this.seedId === "" ? null : this.seedId;
    }

    public generate(prompt: InlinePrompt, options: GenerateOptions): Promise<string> {
        const job = () => this.generateNow(prompt, options);
        const next = this.queue.then(job, job);
        this.queue = next.catch(() => undefined);
        return next;
    }

    /** Makes the sequence start with the seed's KV (or nothing), re-stacking only when the seed changes. */
    private async placeSeed(sequence: LlamaContextSequence, seed: InlineSeed | null): Promise<void> {
        const id = seed?.id ?? "";
        if (id === this.seedId && (id === "" || sequence.contextTokens.length >= this.seedCells))
            return;
        this.seedId = "";
        this.seedCells = 0;
        if (seed == null) {
            await sequence.clearHistory();
            return;
        }
        const engine = await requireEngineModule();
        const stacked = await engine.loadStackedLogs(this.runtime, sequence, [seed]);
        this.seedId = id;
        this.seedCells = stacked.nCells;
    }

    private async generateNow(prompt: InlinePrompt, options: GenerateOptions): Promise<string> {
        if (options.signal.aborted || this.disposed)
            return "";
        const model = this.runtime.model;
        const sequence = await this.sequence();
        const seed = options.seed != null && options.seed.tokens.length <= MAX_SEED_CELLS ? options.seed : null;
        await this.placeSeed(sequence, seed);
        const prefixCells = this.seedCells;
        let tokens: Token[] = model.tokenize(prompt.text, prompt.kind === "fim");
        if (prompt.kind === "plain" && model.tokens.bos != null && model.tokens.shouldPrependBosToken)
            tokens = [model.tokens.bos, ...tokens];
        const room = sequence.contextSize - prefixCells - options.maxTokens - 1;
        if (tokens.length > room)
            tokens = tokens.slice(tokens.length - room);
        if (tokens.length === 0)
            return "";

        // keep the seed and the cached cells this prompt shares with the last one; always evaluate at least one token
        const current = sequence.contextTokens;
        let common = 0;
        while (common < tokens.length - 1 && prefixCells + common < current.length && current[prefixCells + common] === tokens[common])
            common++;
        const eraseFrom = prefixCells + common;
        if (eraseFrom < current.length) {
            if (eraseFrom === 0)
                await sequence.clearHistory();
            else
                await sequence.eraseContextTokenRanges([{start: eraseFrom, end: current.length}]);
        }

        const generated: Token[] = [];
        let text = "";
        const iterator = sequence.evaluate(tokens.slice(common), {temperature: 0});
        try {
            for await (const token of iterator) {
                if (options.signal.aborted || this.disposed || model.isEogToken(token))
                    break;
                generated.push(token);
                text = model.detokenize(generated, true);
                if (generated.length >= options.maxTokens || options.shouldStop(text))
                    break;
            }
        } finally {
            await iterator.return();
        }
        return text;
    }

    public async dispose(): Promise<void> {
        this.disposed = true;
        await this.queue;
        const context = await this.context?.catch(() => undefined);
        await context?.dispose();
    }
}

export interface GenerateOptions {
    maxTokens: number;
    signal: AbortSignal;
    shouldStop(text: string): boolean;
    /** A past session's KV to stack in front of the prompt; null or missing = none. */
    seed?: InlineSeed | null;
}

/** FIM tokens from the model's metadata, else from its vocabulary (`<|fim_prefix|>` etc. as single special tokens). */
export function detectFimTokens(runtime: ModelRuntime): FimTokens | null {
    const model = runtime.model;
    const infill = model.tokens.infill;
    if (infill.prefixString != null && infill.suffixString != null && infill.middleString != null)
        return {prefix: infill.prefixString, suffix: infill.suffixString, middle: infill.middleString};
    const names = {prefix: "<|fim_prefix|>", suffix: "<|fim_suffix|>", middle: "<|fim_middle|>"};
    const single = (text: string) => model.tokenize(text, true).length === 1;
    return single(names.prefix) && single(names.suffix) && single(names.middle) ? names : null;
}
