import type {LlamaContext, LlamaContextSequence, Token} from "node-llama-cpp";
import type {ModelRuntime} from "../../engine/index.js";
import type {FimTokens, InlineBackend, InlinePrompt} from "./inlineLogic.js";

/** Context size of the inline context: small, so it costs little memory next to the chat context. */
const INLINE_CONTEXT_SIZE = 2048;

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

    public generate(prompt: InlinePrompt, options: {maxTokens: number, signal: AbortSignal, shouldStop(text: string): boolean}): Promise<string> {
        const job = () => this.generateNow(prompt, options);
        const next = this.queue.then(job, job);
        this.queue = next.catch(() => undefined);
        return next;
    }

    private async generateNow(prompt: InlinePrompt, options: {maxTokens: number, signal: AbortSignal, shouldStop(text: string): boolean}): Promise<string> {
        if (options.signal.aborted || this.disposed)
            return "";
        const model = this.runtime.model;
        const sequence = await this.sequence();
        let tokens: Token[] = model.tokenize(prompt.text, prompt.kind === "fim");
        if (prompt.kind === "plain" && model.tokens.bos != null && model.tokens.shouldPrependBosToken)
            tokens = [model.tokens.bos, ...tokens];
        const room = sequence.contextSize - options.maxTokens - 1;
        if (tokens.length > room)
            tokens = tokens.slice(tokens.length - room);
        if (tokens.length === 0)
            return "";

        // keep the cached cells this prompt shares with the last one; always evaluate at least one token
        const current = sequence.contextTokens;
        let common = 0;
        while (common < tokens.length - 1 && common < current.length && current[common] === tokens[common])
            common++;
        if (common < current.length) {
            if (common === 0)
                await sequence.clearHistory();
            else
                await sequence.eraseContextTokenRanges([{start: common, end: current.length}]);
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
