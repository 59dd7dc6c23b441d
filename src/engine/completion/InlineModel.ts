import type {LlamaContext, Token} from "node-llama-cpp";
import {AbortedError} from "../errors.js";
import {Generator} from "../generation/Generator.js";
import type {StoredKv} from "../kv/KvLogCodec.js";
import {StackedPrefix} from "../kv/StackedPrefix.js";
import type {ModelRuntime} from "../runtime/ModelRuntime.js";
import type {FimTokens, InlinePrompt} from "./inlineLogic.js";

/** Context size of the inline context: small, so it costs little memory next to the chat context. */
const INLINE_CONTEXT_SIZE = 2048;
/** A past session's KV seeds suggestions only when it leaves most of the inline context to the prompt. */
export const MAX_SEED_CELLS = 768;

/** A past session's stored KV, stacked in front of the inline prompt (`inline.useMemory`). */
export type InlineSeed = StoredKv;

export interface InlineGenerateOptions {
    maxTokens: number;
    signal: AbortSignal;
    shouldStop(text: string): boolean;
    /** A past session's KV to stack in front of the prompt; null or missing = none. */
    seed?: InlineSeed | null;
}

interface Opened {
    context: LlamaContext;
    generator: Generator;
    prefix: StackedPrefix;
}

/**
 * The inline-suggestion backend over a loaded model: its own LlamaContext and sequence, separate from the chat
 * engine's, so completions and chat never evict each other's cache. Generation is `Generator`'s (a prompt that
 * shares its start with the previous one re-evaluates only the new tokens), the seed is kept by a `StackedPrefix`
 * (stacked again only when it changes). One generation at a time.
 */
export class InlineModel {
    private opened: Promise<Opened> | undefined;
    private prefix: StackedPrefix | undefined;
    private queue: Promise<unknown> = Promise.resolve();
    private readonly fim: FimTokens | null;
    private readonly disposal = new AbortController();

    public constructor(public readonly runtime: ModelRuntime) {
        this.fim = detectFimTokens(runtime);
    }

    public async fimTokens(): Promise<FimTokens | null> {
        return this.fim;
    }

    /** The one sequence of the inline context, created on first use (a context hands each sequence out once). */
    private open(): Promise<Opened> {
        if (this.opened == null) {
            const opening = this.runtime.createContext({sequences: 1, contextSize: Math.min(INLINE_CONTEXT_SIZE, this.runtime.options.contextSize)})
                .then((context) => {
                    const generator = new Generator(this.runtime, context.getSequence());
                    this.prefix = new StackedPrefix(this.runtime, generator.sequence);
                    return {context, generator, prefix: this.prefix};
                });
            this.opened = opening;
            opening.catch(() => {
                if (this.opened === opening)
                    this.opened = undefined;
            });
        }
        return this.opened;
    }

    /** The log whose KV is stacked in front of the prompts now, if any. */
    public get seededWith(): string | null {
        return this.prefix?.ids[0] ?? null;
    }

    public generate(prompt: InlinePrompt, options: InlineGenerateOptions): Promise<string> {
        const job = () => this.generateNow(prompt, options);
        const next = this.queue.then(job, job);
        this.queue = next.catch(() => undefined);
        return next;
    }

    private async generateNow(prompt: InlinePrompt, options: InlineGenerateOptions): Promise<string> {
        const signal = AbortSignal.any([options.signal, this.disposal.signal]);
        if (signal.aborted)
            return "";
        const model = this.runtime.model;
        const {generator, prefix} = await this.open();
        const seed = options.seed != null && options.seed.tokens.length <= MAX_SEED_CELLS ? options.seed : null;
        await prefix.stack(seed == null ? [] : [seed.id], async () => [seed!], "in-context");
        let tokens: Token[] = model.tokenize(prompt.text, prompt.kind === "fim");
        if (prompt.kind === "plain" && model.tokens.bos != null && model.tokens.shouldPrependBosToken)
            tokens = [model.tokens.bos, ...tokens];
        const room = generator.sequence.contextSize - prefix.cells - options.maxTokens - 1;
        if (tokens.length > room)
            tokens = tokens.slice(tokens.length - room);
        if (tokens.length === 0)
            return "";
        try {
            const result = await generator.generate(prefix.cells, tokens, {
                maxTokens: options.maxTokens, signal, stopWhen: (text) => options.shouldStop(text), specialTokens: true
            });
            return result.text;
        } catch (err) {
            if (err instanceof AbortedError)
                return "";
            throw err;
        }
    }

    public async dispose(): Promise<void> {
        this.disposal.abort();
        await this.queue;
        const opened = await this.opened?.catch(() => undefined);
        await opened?.context.dispose();
    }
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
