import assert from "node:assert/strict";
import {buildInlinePrompt, completionIsDone, InlineCompleter, MAX_PREFIX_CHARS, trimCompletion, type FimTokens, type InlineBackend,
    type InlinePrompt} from "../../src/engine/completion/inlineLogic.js";

const qwenFim: FimTokens = {prefix: "<|fim_prefix|>", suffix: "<|fim_suffix|>", middle: "<|fim_middle|>"};

/** A backend at the completer's boundary: records prompts, answers with a script, honours the abort signal. */
class ScriptedBackend implements InlineBackend {
    public prompts: InlinePrompt[] = [];
    public maxTokensSeen: number[] = [];
    /** Pieces handed out by the last generation. */
    public consumed = 0;
    public constructor(private readonly fim: FimTokens | null, private readonly pieces: string[], private readonly pieceMs = 0,
        private readonly fail = false) {}

    public async fimTokens(): Promise<FimTokens | null> {
        return this.fim;
    }

    public async generate(prompt: InlinePrompt, options: {maxTokens: number, signal: AbortSignal, shouldStop(text: string): boolean}): Promise<string> {
        this.prompts.push(prompt);
        this.maxTokensSeen.push(options.maxTokens);
        if (this.fail)
            throw new Error("llama.cpp exploded");
        let text = "";
        for (const [i, piece] of this.pieces.entries()) {
            if (i >= options.maxTokens || options.signal.aborted)
                break;
            if (this.pieceMs > 0)
                await new Promise((r) => setTimeout(r, this.pieceMs));
            text += piece;
            this.consumed = i + 1;
            if (options.shouldStop(text))
                break;
        }
        return text;
    }
}

const ctx = (prefix: string, suffix = "") => ({prefix, suffix, languageId: "python"});

describe("inline suggestions (editor-free logic)", () => {
    it("builds a fill-in-the-middle prompt when the model has FIM tokens", () => {
        const prompt = buildInlinePrompt(ctx("def add(a, b):\n    ", "\n\nprint(add(1, 2))\n"), qwenFim);
        assert.equal(prompt.kind, "fim");
        assert.equal(prompt.text, "<|fim_prefix|>def add(a, b):\n    <|fim_suffix|>\n\nprint(add(1, 2))\n<|fim_middle|>");
    });

    it("builds a plain prefix continuation without FIM tokens (SmolLM2)", () => {
        const prompt = buildInlinePrompt(ctx("def add(a, b):\n    ", "\nprint(1)"), null);
        assert.deepEqual(prompt, {kind: "plain", text: "def add(a, b):\n    "});
    });

    it("keeps only the recent prefix, cut at a line start", () => {
        const long = Array.from({length: 2000}, (_, i) => `line ${i}`).join("\n") + "\nx = ";
        const prompt = buildInlinePrompt(ctx(long), null);
        assert.ok(prompt.text.length <= MAX_PREFIX_CHARS);
        assert.ok(prompt.text.endsWith("\nx = "));
        assert.match(prompt.text, /^line \d+\n/);
    });

    it("trims: one line mid-line, a few lines on an empty line, no stop markers, no repeat of the suffix", () => {
        assert.equal(trimCompletion("a + b\n    more\n", {suffix: "", linePrefix: "    return "}), "a + b");
        assert.equal(trimCompletion("x = 1\ny = 2\nz = 3\n", {suffix: "", linePrefix: "", maxLines: 2}), "x = 1\ny = 2");
        assert.equal(trimCompletion("return a + b<|endoftext|>junk", {suffix: "", linePrefix: ""}), "return a + b");
        assert.equal(trimCompletion("    return a + b\nprint(add(1, 2))\n", {suffix: "\nprint(add(1, 2))\n", linePrefix: ""}), "    return a + b");
        assert.equal(trimCompletion("  \n\n", {suffix: "", linePrefix: ""}), "");
    });

    it("on an indented empty line: skips leading blank lines and indentation, and ends at the block's blank line", () => {
        const raw = "\n    with open(path) as f:\n        return f.read()\n\n# Example usage:\nprint(1)";
        assert.equal(trimCompletion(raw, {suffix: "", linePrefix: "    "}), "with open(path) as f:\n        return f.read()");
        assert.equal(trimCompletion(" return sum(lines)", {suffix: "", linePrefix: "    "}), "return sum(lines)");
        assert.equal(trimCompletion("\nnext", {suffix: "", linePrefix: "x = "}), "", "mid-line, a suggestion that starts a new line is dropped");
        assert.equal(completionIsDone("a\n\n", 6), true);
        assert.equal(completionIsDone("\n    a\n    b", 6), false);
        assert.equal(completionIsDone("a\nb", 1), true);
    });

    it("on an indented line: later lines lose the same indentation as the first, keeping their relative indent", () => {
        // the editor already typed 4 spaces; the model wrote " " more before the first line and 5 before the next
        const raw = ' """Average price of each item."""\n     return sum(x) / len(x)';
        assert.equal(trimCompletion(raw, {suffix: "", linePrefix: "    "}), '"""Average price of each item."""\n    return sum(x) / len(x)');
        // nested lines keep their extra indent relative to the first line
        assert.equal(trimCompletion(" for x in xs:\n         total += x", {suffix: "", linePrefix: "    "}), "for x in xs:\n        total += x");
        // after a skipped newline the first line's indent is absolute: what the cursor column already has is dropped
        assert.equal(trimCompletion("\n      if x:\n          y()", {suffix: "", linePrefix: "    "}), "if x:\n        y()");
    });

    it("ends the block at a line dedented below the cursor line's indentation", () => {
        assert.equal(trimCompletion('"""Doc."""\n    return 1\nprint(average_price([]))', {suffix: "", linePrefix: "    "}), '"""Doc."""\n    return 1');
        assert.equal(trimCompletion("if a:\n            b()\n    c()\n  d()", {suffix: "", linePrefix: "        "}), "if a:\n            b()");
        assert.equal(trimCompletion("\nprint(1)", {suffix: "", linePrefix: "    "}), "", "a first line below the block gives nothing");
        assert.equal(completionIsDone("x = 1\nprint(1)\n", 6, 4), true);
        assert.equal(completionIsDone("x = 1\n    y = 2\n", 6, 4), false);
        assert.equal(completionIsDone("x = 1\n  ", 6, 4), false, "a line still growing its indentation is not judged yet");
    });

    it("never starts a new top-level definition, and stops before one", () => {
        assert.equal(trimCompletion("def average(lines):\n    return 1", {suffix: "", linePrefix: ""}), "");
        assert.equal(trimCompletion("\n\nclass Inventory:\n    pass", {suffix: "", linePrefix: ""}), "");
        assert.equal(trimCompletion("@dataclass\nclass Item:", {suffix: "", linePrefix: ""}), "");
        assert.equal(trimCompletion("total = 0\ndef main():\n    pass", {suffix: "", linePrefix: ""}), "total = 0");
        assert.equal(trimCompletion("x = 1\nexport function f() {}", {suffix: "", linePrefix: ""}), "x = 1");
        assert.equal(trimCompletion("define = 1", {suffix: "", linePrefix: ""}), "define = 1", "only whole keywords count");
        assert.equal(completionIsDone("total = 0\ndef main():\n", 6), true);
    });

    it("completes a function body as VS Code asks after `def ...:` + Enter: no extra space, no next definition", async () => {
        const pieces = [' """Average', ' price."""', "\n", "     return", " sum(x)", "\n", "def", " main(", "):\n", "    pass\n"];
        const backend = new ScriptedBackend(null, pieces);
        const completer = new InlineCompleter(backend, {delayMs: () => 0});
        const text = await completer.complete(ctx("def average_price(lines):\n    ", "\n"), new AbortController().signal);
        assert.equal(text, '"""Average price."""\n    return sum(x)');
        assert.equal(backend.consumed, 9, "generation stopped once the dedented line was finished");
    });

    it("answers a repeated prompt from its last suggestion without generating again", async () => {
        const backend = new ScriptedBackend(null, ["1"]);
        const completer = new InlineCompleter(backend, {delayMs: () => 0});
        assert.equal(await completer.complete(ctx("x = "), new AbortController().signal), "1");
        assert.equal(await completer.complete(ctx("x = "), new AbortController().signal), "1");
        assert.equal(backend.prompts.length, 1);
    });

    it("completes through the backend with the token cap and a FIM prompt", async () => {
        const backend = new ScriptedBackend(qwenFim, ["a", " +", " b", "\n", "junk"]);
        const completer = new InlineCompleter(backend, {delayMs: () => 0, maxTokens: 3});
        const text = await completer.complete(ctx("def add(a, b):\n    return ", "\n"), new AbortController().signal);
        assert.equal(text, "a + b");
        assert.deepEqual(backend.maxTokensSeen, [3]);
        assert.equal(backend.prompts[0]!.kind, "fim");
    });

    it("stops generating once a mid-line suggestion has reached the next line", async () => {
        const backend = new ScriptedBackend(null, ["1", "\n", "never", "\n", "seen"]);
        const completer = new InlineCompleter(backend, {delayMs: () => 0});
        assert.equal(await completer.complete(ctx("x = "), new AbortController().signal), "1");
    });

    it("debounces: a newer request cancels the waiting one, and only the newer reaches the backend", async () => {
        const backend = new ScriptedBackend(null, ["42"]);
        const completer = new InlineCompleter(backend, {delayMs: () => 50});
        const first = completer.complete(ctx("x = "), new AbortController().signal);
        await new Promise((r) => setTimeout(r, 10));
        const second = completer.complete(ctx("x = 4"), new AbortController().signal);
        assert.equal(await first, null);
        assert.equal(await second, "42");
        assert.equal(backend.prompts.length, 1);
        assert.equal(backend.prompts[0]!.text, "x = 4");
    });

    it("cancels a running generation when the caller's signal aborts (the user typed on)", async () => {
        const backend = new ScriptedBackend(null, ["a", "b", "c", "d", "e", "f"], 20);
        const completer = new InlineCompleter(backend, {delayMs: () => 0});
        const abort = new AbortController();
        const pending = completer.complete(ctx("x = "), abort.signal);
        setTimeout(() => abort.abort(), 30);
        const started = Date.now();
        assert.equal(await pending, null);
        assert.ok(Date.now() - started < 100, "the generation stopped early");
    });

    it("gives no suggestion on a backend error, and reports it", async () => {
        const errors: unknown[] = [];
        const completer = new InlineCompleter(new ScriptedBackend(null, [], 0, true), {delayMs: () => 0, onError: (e) => errors.push(e)});
        assert.equal(await completer.complete(ctx("x = "), new AbortController().signal), null);
        assert.equal(errors.length, 1);
    });
});
