/**
 * The editor-free part of inline suggestions: prompt building (fill-in-the-middle when the model has FIM tokens,
 * else a plain continuation of the text before the cursor), the debounce, cancellation, the token and line caps
 * and trimming. The VS Code provider (InlineProvider.ts) and the model backend (inlineModel.ts) plug into it.
 */

/** The text of a model's fill-in-the-middle tokens (Qwen2.5-Coder: <|fim_prefix|>, <|fim_suffix|>, <|fim_middle|>). */
export interface FimTokens {
    prefix: string;
    suffix: string;
    middle: string;
}

export interface InlineContext {
    /** Document text before the cursor. */
    prefix: string;
    /** Document text after the cursor. */
    suffix: string;
    languageId: string;
}

export interface InlinePrompt {
    kind: "fim" | "plain";
    text: string;
}

/** Characters of context sent around the cursor (small models have small contexts; recent text matters most). */
export const MAX_PREFIX_CHARS = 3000;
export const MAX_SUFFIX_CHARS = 1000;

/** Cuts at a line start where possible so the model never sees half a line at the edge. */
function tail(text: string, max: number): string {
    if (text.length <= max)
        return text;
    const cut = text.slice(text.length - max);
    const nl = cut.indexOf("\n");
    return nl >= 0 && nl < cut.length - 1 ? cut.slice(nl + 1) : cut;
}

function head(text: string, max: number): string {
    if (text.length <= max)
        return text;
    const cut = text.slice(0, max);
    const nl = cut.lastIndexOf("\n");
    return nl > 0 ? cut.slice(0, nl + 1) : cut;
}

export function buildInlinePrompt(context: InlineContext, fim: FimTokens | null): InlinePrompt {
    const prefix = tail(context.prefix, MAX_PREFIX_CHARS);
    if (fim != null) {
        const suffix = head(context.suffix, MAX_SUFFIX_CHARS);
        return {kind: "fim", text: `${fim.prefix}${prefix}${fim.suffix}${suffix}${fim.middle}`};
    }
    return {kind: "plain", text: prefix};
}

export interface TrimOptions {
    /** Lines a suggestion may span. Defaults to 1 when the cursor is mid-line, else 6. */
    maxLines?: number;
    /** Text after the cursor; a suggestion stops where it starts repeating it. */
    suffix: string;
    /** Text before the cursor on the cursor's line. */
    linePrefix: string;
}

/** Special tokens a FIM model may print that end a suggestion. */
const stopMarkers = ["<|endoftext|>", "<|fim_pad|>", "<|file_sep|>", "<|repo_name|>", "<|im_end|>", "<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>"];

/**
 * The part of the model's text to show: without stop markers; on an empty line, without leading blank lines or
 * re-typed indentation; one block (up to the first blank line), capped in lines; without a repeat of the suffix.
 */
export function trimCompletion(raw: string, options: TrimOptions): string {
    let text = raw;
    for (const marker of stopMarkers) {
        const at = text.indexOf(marker);
        if (at >= 0)
            text = text.slice(0, at);
    }
    const midLine = options.linePrefix.trim() !== "";
    const maxLines = options.maxLines ?? (midLine ? 1 : 6);
    let lines = text.split("\n");
    if (!midLine) {
        // the cursor is on an empty (maybe indented) line: start at the first line with content, and do not indent
        // again where the editor already did
        const first = lines.findIndex((line) => line.trim() !== "");
        if (first < 0)
            return "";
        lines = lines.slice(first);
        if (options.linePrefix !== "")
            lines[0] = lines[0]!.trimStart();
    } else if (lines[0]!.trim() === "")
        return "";
    const blank = lines.findIndex((line, i) => i > 0 && line.trim() === "");
    if (blank > 0)
        lines = lines.slice(0, blank);
    lines = lines.slice(0, maxLines);
    const nextSuffixLine = options.suffix.split("\n").find((line) => line.trim() !== "")?.trim();
    if (nextSuffixLine != null && nextSuffixLine.length > 2) {
        const repeat = lines.findIndex((line, i) => i > 0 && line.trim() === nextSuffixLine);
        if (repeat > 0)
            lines = lines.slice(0, repeat);
    }
    return lines.join("\n").replace(/\s+$/, "");
}

/** Whether generation can stop: the text has more lines than can be shown, or a block ended with a blank line. */
export function completionIsDone(text: string, maxLines: number): boolean {
    const body = text.replace(/^\s*\n/, "");
    return body.split("\n").length > maxLines || /\S[^]*\n[ \t]*\n/.test(body);
}

/** Where the text comes from: a model, or a fake in tests. */
export interface InlineBackend {
    /** FIM tokens of the loaded model, or null when it has none (may load the model). */
    fimTokens(): Promise<FimTokens | null>;
    /** Generates at most `maxTokens` tokens after `prompt`; `shouldStop` is checked after each piece. */
    generate(prompt: InlinePrompt, options: {maxTokens: number, signal: AbortSignal, shouldStop(text: string): boolean, context: InlineContext}): Promise<string>;
}

export interface InlineCompleterOptions {
    /** Milliseconds to wait after the last keystroke. */
    delayMs(): number;
    /** Tokens a suggestion may have. Defaults to 64. */
    maxTokens?: number;
    /** Reports errors (for the output channel); the user sees no suggestion, never an error. */
    onError?(err: unknown): void;
}

/** Waits `ms`, or rejects when `signal` aborts first. */
export function delay(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
        if (signal.aborted) {
            reject(new Error("aborted"));
            return;
        }
        const timer = setTimeout(() => {
            signal.removeEventListener("abort", onAbort);
            resolve();
        }, ms);
        const onAbort = () => {
            clearTimeout(timer);
            reject(new Error("aborted"));
        };
        signal.addEventListener("abort", onAbort, {once: true});
    });
}

/**
 * Debounced, cancellable completions: a new request cancels the one before it (the user typed on), waits
 * `delayMs`, then asks the backend. Any error or cancellation gives `null`, never an exception.
 */
export class InlineCompleter {
    private previous: AbortController | undefined;
    /** The last prompt and its suggestion: VS Code asks again for the same position (e.g. after a cursor move back). */
    private last: {prompt: string, text: string | null} | undefined;

    public constructor(private readonly backend: InlineBackend, private readonly options: InlineCompleterOptions) {}

    public async complete(context: InlineContext, signal: AbortSignal): Promise<string | null> {
        this.previous?.abort();
        const mine = new AbortController();
        this.previous = mine;
        const onAbort = () => mine.abort();
        signal.addEventListener("abort", onAbort, {once: true});
        if (signal.aborted)
            mine.abort();
        try {
            await delay(this.options.delayMs(), mine.signal);
            const fim = await this.backend.fimTokens();
            if (mine.signal.aborted)
                return null;
            const prompt = buildInlinePrompt(context, fim);
            if (this.last?.prompt === prompt.text)
                return this.last.text;
            const linePrefix = context.prefix.slice(context.prefix.lastIndexOf("\n") + 1);
            const trim = {suffix: context.suffix, linePrefix};
            const maxLines = linePrefix.trim() !== "" ? 1 : 6;
            const raw = await this.backend.generate(prompt, {
                maxTokens: this.options.maxTokens ?? 64,
                signal: mine.signal,
                shouldStop: (text) => completionIsDone(text, maxLines),
                context
            });
            if (mine.signal.aborted)
                return null;
            const text = trimCompletion(raw, trim) || null;
            this.last = {prompt: prompt.text, text};
            return text;
        } catch (err) {
            if (!mine.signal.aborted)
                this.options.onError?.(err);
            return null;
        } finally {
            signal.removeEventListener("abort", onAbort);
            if (this.previous === mine)
                this.previous = undefined;
        }
    }

    public dispose(): void {
        this.previous?.abort();
    }
}

/** VS Code's CancellationToken, as a tiny interface, becomes an AbortSignal at the boundary (STYLE.md point 4). */
export interface CancellationTokenLike {
    isCancellationRequested: boolean;
    onCancellationRequested(listener: () => void): {dispose(): void};
}

/** Words of the text before the cursor that can find related past sessions (identifiers, the most recent last). */
export function memoryQuery(prefix: string, maxWords = 24): string {
    const words = prefix.slice(-1500).match(/[A-Za-z_][A-Za-z0-9_]{2,}/g) ?? [];
    const recent: string[] = [];
    for (const word of words.reverse())
        if (!recent.includes(word) && recent.length < maxWords)
            recent.push(word);
    return recent.reverse().join(" ");
}

export function toAbortSignal(token: CancellationTokenLike): {signal: AbortSignal, dispose: () => void} {
    const controller = new AbortController();
    if (token.isCancellationRequested)
        controller.abort();
    const subscription = token.onCancellationRequested(() => controller.abort());
    return {signal: controller.signal, dispose: () => subscription.dispose()};
}
