import {resolveChatWrapper, type ChatHistoryItem, type ChatWrapper, type LlamaContextSequence, type Token} from "node-llama-cpp";
import {AbortedError, HindsightError} from "../errors.js";
import type {ModelRuntime} from "../runtime/ModelRuntime.js";

export interface ChatTurn {
    role: "system" | "user" | "assistant";
    text: string;
}

export interface GenerateOptions {
    maxTokens: number;
    signal?: AbortSignal;
    /** Called with each new piece of text as it is generated. */
    onText?(text: string): void;
    /** Stop as soon as the generated text satisfies this (checked after each token). */
    stopWhen?(text: string): boolean;
}

export interface GenerateResult {
    text: string;
    tokens: number;
    promptTokens: number;
    /** Prompt tokens actually evaluated (the rest were reused from the cache). */
    evaluatedPromptTokens: number;
    firstTokenMs: number | null;
    generateMs: number;
}

/**
 * Token-level generation over a sequence whose first `prefixCells` cells are fixed (stacked KV logs). Chat turns
 * are rendered with the model's own chat template; a new round reuses every cached token it shares with the last
 * one, so a round costs only its new tokens. node-llama-cpp's chat session is not used: it re-renders its
 * template and would erase the log cells it did not put there.
 */
export class Generator {
    private readonly chatWrapper: ChatWrapper;

    public constructor(private readonly runtime: ModelRuntime, public readonly sequence: LlamaContextSequence) {
        this.chatWrapper = resolveChatWrapper(runtime.model);
    }

    public renderChat(turns: readonly ChatTurn[]): Token[] {
        const history: ChatHistoryItem[] = turns.map((turn) => {
            if (turn.role === "system")
                return {type: "system", text: turn.text};
            if (turn.role === "user")
                return {type: "user", text: turn.text};
            return {type: "model", response: [turn.text]};
        });
        history.push({type: "model", response: []});
        const {contextText} = this.chatWrapper.generateContextState({chatHistory: history});
        return contextText.tokenize(this.runtime.model.tokenizer);
    }

    public countTokens(text: string): number {
        return this.runtime.model.tokenize(text).length;
    }

    /** Makes the sequence hold exactly `prefixCells` fixed cells + `prompt`, evaluating only what is missing. */
    private async preparePrompt(prefixCells: number, prompt: readonly Token[]): Promise<number> {
        const current = this.sequence.contextTokens;
        if (current.length < prefixCells)
            throw new HindsightError("INTERNAL", "The sequence lost its stacked log cells.");
        let common = 0;
        while (common < prompt.length && prefixCells + common < current.length && current[prefixCells + common] === prompt[common])
            common++;
        // always evaluate at least the last prompt token so its logits exist
        if (common === prompt.length)
            common--;
        const eraseFrom = prefixCells + common;
        if (eraseFrom < current.length) {
            if (eraseFrom === 0)
                await this.sequence.clearHistory();
            else
                await this.sequence.eraseContextTokenRanges([{start: eraseFrom, end: current.length}]);
        }
        return common;
    }

    public async generate(prefixCells: number, prompt: readonly Token[], options: GenerateOptions): Promise<GenerateResult> {
        const total = prefixCells + prompt.length + options.maxTokens;
        if (total > this.sequence.contextSize)
            throw new HindsightError("PROMPT_TOO_LONG",
                `The request needs ${total} tokens (${prefixCells} of past sessions, ${prompt.length} of prompt, ${options.maxTokens} to answer) but the context holds ${this.sequence.contextSize}. Shorten the request or attach less context.`);
        const reused = await this.preparePrompt(prefixCells, prompt);
        const toEvaluate = prompt.slice(reused) as Token[];

        const start = performance.now();
        let firstTokenMs: number | null = null;
        const generated: Token[] = [];
        let text = "";
        const model = this.runtime.model;
        const iterator = this.sequence.evaluate(toEvaluate, {temperature: 0});
        try {
            for await (const token of iterator) {
                if (options.signal?.aborted)
                    throw new AbortedError();
                firstTokenMs ??= performance.now() - start;
                if (model.isEogToken(token))
                    break;
                generated.push(token);
                const next = model.detokenize(generated);
                const piece = next.slice(text.length);
                text = next;
                if (piece.length > 0)
                    options.onText?.(piece);
                if (generated.length >= options.maxTokens || options.stopWhen?.(text))
                    break;
            }
        } finally {
            await iterator.return();
        }
        return {
            text,
            tokens: generated.length,
            promptTokens: prompt.length,
            evaluatedPromptTokens: toEvaluate.length,
            firstTokenMs,
            generateMs: performance.now() - start
        };
    }
}
