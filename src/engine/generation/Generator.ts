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
    /** Special tokens are written as their text (a FIM model's `<|endoftext|>`). Defaults to `false`. */
    specialTokens?: boolean;
}

export interface ScoreTokensResult {
    /** Natural-log probability of each continuation token given everything before it. */
    logProbs: number[];
    /** Prompt tokens actually evaluated (the rest were reused from the cache). */
    evaluatedPromptTokens: number;
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

    /**
     * The turns in the model's chat template, ending with an open assistant turn; `answerPrefix` is the start of
     * that turn's text (the model continues it).
     */
    public renderChat(turns: readonly ChatTurn[], answerPrefix?: string): Token[] {
        const history: ChatHistoryItem[] = turns.map((turn) => {
            if (turn.role === "system")
                return {type: "system", text: turn.text};
            if (turn.role === "user")
                return {type: "user", text: turn.text};
            return {type: "model", response: [turn.text]};
        });
        history.push({type: "model", response: answerPrefix != null && answerPrefix !== "" ? [answerPrefix] : []});
        const {contextText} = this.chatWrapper.generateContextState({chatHistory: history});
        return contextText.tokenize(this.runtime.model.tokenizer);
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

    private checkFits(prefixCells: number, prompt: readonly Token[], answerTokens: number): void {
        const total = prefixCells + prompt.length + answerTokens;
        if (total > this.sequence.contextSize)
            throw new HindsightError("PROMPT_TOO_LONG",
                `The request needs ${total} tokens (${prefixCells} of past sessions, ${prompt.length} of prompt, ${answerTokens} to answer) but the context holds ${this.sequence.contextSize}. Shorten the request or attach less context.`);
    }

    public async generate(prefixCells: number, prompt: readonly Token[], options: GenerateOptions): Promise<GenerateResult> {
        this.checkFits(prefixCells, prompt, options.maxTokens);
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
                const next = model.detokenize(generated, options.specialTokens ?? false);
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

    /**
     * The log probability of each `continuation` token after `prefixCells` fixed cells + `prompt`, from one
     * forward pass (no sampling): for each position the target token's logit, the largest logit and the sum of
     * exp(logit - max) give log softmax (the largest comes from `includeTop: 1`: node-llama-cpp 3.22.1 ignores
     * `includeMax`). The sequence then holds prompt and continuation.
     */
    public async score(prefixCells: number, prompt: readonly Token[], continuation: readonly Token[], signal?: AbortSignal): Promise<ScoreTokensResult> {
        if (continuation.length === 0)
            throw new HindsightError("INVALID_ARGUMENT", "The continuation to score is empty.");
        this.checkFits(prefixCells, prompt, continuation.length);
        const reused = await this.preparePrompt(prefixCells, prompt);
        if (signal?.aborted)
            throw new AbortedError();
        const tokens = [...prompt.slice(reused), ...continuation];
        const first = prompt.length - reused - 1;
        const input = tokens.map((token, i) => i >= first && i < tokens.length - 1
            ? [token, {generateNext: {logits: {filter: {tokens: [tokens[i + 1]!], includeTop: 1}}, totalLogitWeight: true}}] as const
            : token);
        const output = await this.sequence.controlledEvaluate(input as never);
        const logProbs: number[] = [];
        for (let i = first; i < tokens.length - 1; i++) {
            const next = output[i]?.next;
            const logit = next?.logits?.get(tokens[i + 1]!);
            if (logit == null || next?.totalLogitWeight == null)
                throw new HindsightError("INTERNAL", "llama.cpp returned no logits.");
            const max = Math.max(...next.logits!.values());
            logProbs.push(logit - max - Math.log(next.totalLogitWeight));
        }
        return {logProbs, evaluatedPromptTokens: prompt.length - reused};
    }
}
