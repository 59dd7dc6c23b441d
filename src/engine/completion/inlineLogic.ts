/**
 * The editor-free part of inline suggestions: prompt building (fill-in-the-middle when the model has FIM tokens,
 * else a plain continuation of the text before the cursor), the debounce, cancellation, the token and line caps
 * and trimming. The model backend (InlineModel.ts) plugs into it; the VS Code provider (src/extension/inline) calls
 * `InlineCompletions`, which joins the two.
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
    /** Past sessions of this workspace may seed the suggestion (`inline.useMemory`). Defaults to none. */
    memory?: {workspace: string} | null;
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

/** A line that starts a new definition (Python, JS/TS, Go, Rust, C#/Java-ish) or a decorator on one. */
const definitionStart = /^(?:(?:async\s+def|def|class|function|export|interface|type|enum|func|fn|pub|impl|struct)(?![A-Za-z0-9_$])|@[A-Za-z_])/;

function indentOf(line: string): number {
    return line.length - line.trimStart().length;
}

/** Removes at most `n` leading whitespace characters. */
function dedent(line: string, n: number): string {
    return line.slice(Math.min(n, indentOf(line)));
}

/**
 * The part of the model's text to show:
 * - without stop markers;
 * - mid-line: one line, as generated (a space after `=` matters);
 * - on an empty (maybe indented) line: from the first line with content, without the indentation the editor already
 *   typed: the first line starts at the cursor, and later lines are dedented by as much, so they keep their indent
 *   relative to the first line (the model often writes ` return` after the editor's four spaces);
 * - one block: it ends at a blank line, at a line dedented below the cursor line's indentation (the block is over),
 *   and at a new top-level definition (`def`, `class`, `function`, … at column 0), which is never suggested;
 * - capped in lines, and without a repeat of the suffix.
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
    const blockIndent = indentOf(options.linePrefix);
    let lines = text.split("\n");
    if (!midLine) {
        const first = lines.findIndex((line) => line.trim() !== "");
        if (first < 0)
            return "";
        // where the first line would start in the document: right after the cursor, or at column 0 after a newline
        const firstColumn = (first === 0 ? options.linePrefix.length : 0) + indentOf(lines[first]!);
        if (firstColumn < blockIndent)
            return "";
        lines = lines.slice(first);
        if (options.linePrefix !== "") {
            const shift = firstColumn - options.linePrefix.length;
            lines = lines.map((line, i) => i === 0 ? line.trimStart() : dedent(line, shift));
        }
        if (options.linePrefix === "" && definitionStart.test(lines[0]!))
            return "";
    } else if (lines[0]!.trim() === "")
        return "";
    const end = lines.findIndex((line, i) => i > 0 && (line.trim() === "" || indentOf(line) < blockIndent ||
        (indentOf(line) === 0 && definitionStart.test(line))));
    if (end > 0)
        lines = lines.slice(0, end);
    lines = lines.slice(0, maxLines);
    const nextSuffixLine = options.suffix.split("\n").find((line) => line.trim() !== "")?.trim();
    if (nextSuffixLine != null && nextSuffixLine.length > 2) {
        const repeat = lines.findIndex((line, i) => i > 0 && line.trim() === nextSuffixLine);
        if (repeat > 0)
            lines = lines.slice(0, repeat);
    }
    return lines.join("\n").replace(/\s+$/, "");
}

/**
 * Whether generation can stop: the text has more lines than can be shown, a block ended with a blank line, or a
 * finished later line is dedented below `blockIndent` (the cursor line's indentation) or starts a top-level
 * definition. Defaults: `blockIndent` 0.
 */
export function completionIsDone(text: string, maxLines: number, blockIndent = 0): boolean {
    const body = text.replace(/^\s*\n/, "");
    const lines = body.split("\n");
    if (lines.length > maxLines || /\S[^]*\n[ \t]*\n/.test(body))
        return true;
    // only lines followed by a newline are finished; the last one may still be growing its indentation
    return lines.slice(1, -1).some((line) => line.trim() !== "" && (indentOf(line) < blockIndent || (indentOf(line) === 0 && definitionStart.test(line))));
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
            const blockIndent = linePrefix.length - linePrefix.trimStart().length;
            const raw = await this.backend.generate(prompt, {
                maxTokens: this.options.maxTokens ?? 64,
                signal: mine.signal,
                shouldStop: (text) => completionIsDone(text, maxLines, blockIndent),
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

/** Words of the text before the cursor that can find related past sessions (identifiers, the most recent last). */
export function memoryQuery(prefix: string, maxWords = 24): string {
    const words = prefix.slice(-1500).match(/[A-Za-z_][A-Za-z0-9_]{2,}/g) ?? [];
    const recent: string[] = [];
    for (const word of words.reverse())
        if (!recent.includes(word) && recent.length < maxWords)
            recent.push(word);
    return recent.reverse().join(" ");
}
