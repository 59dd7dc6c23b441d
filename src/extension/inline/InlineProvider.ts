import * as vscode from "vscode";
import type {EngineHost} from "../engineHost.js";
import type {HostSettings} from "../settings.js";
import {InlineCompleter, memoryQuery, toAbortSignal} from "./inlineLogic.js";
import {MAX_SEED_CELLS, type InlineModel, type InlineSeed} from "./inlineModel.js";

/**
 * Inline suggestions for every file: debounced (inline.delayMs), cancelled when the user types on (VS Code's
 * CancellationToken becomes an AbortSignal), generated on the inline model's own context, capped in tokens and
 * lines. Any error gives no suggestion. A model that failed to load is not retried from typing: the status bar
 * shows the error and the chat or a command retries. With `inline.useMemory`, the most relevant past session
 * (BM25 over the identifiers before the cursor; rejected sessions left out) that has KV for this model is stacked
 * in front of the prompt, as the chat does with its logs.
 */
export class HindsightInlineProvider implements vscode.InlineCompletionItemProvider, vscode.Disposable {
    private readonly completer: InlineCompleter;
    private lastSeed: {query: string, seed: InlineSeed | null} | undefined;

    public constructor(private readonly host: EngineHost, private readonly settings: () => HostSettings, private readonly workspaceKey: () => string,
        private readonly output: vscode.OutputChannel) {
        this.completer = new InlineCompleter({
            fimTokens: async () => (await host.inline()).fimTokens(),
            generate: async (prompt, options) => {
                const model = await host.inline();
                const seed = settings().inline.useMemory ? await this.findSeed(options.context.prefix, model).catch(() => null) : null;
                if (seed != null && seed.id !== model.seededWith)
                    output.appendLine(`[inline] seeded with past session ${seed.id} (${seed.tokens.length} tokens)`);
                return model.generate(prompt, {...options, seed});
            }
        }, {
            delayMs: () => settings().inline.delayMs,
            maxTokens: settings().inline.maxTokens,
            onError: (err) => output.appendLine(`[inline] ${err instanceof Error ? err.message : String(err)}`)
        });
    }

    public async provideInlineCompletionItems(document: vscode.TextDocument, position: vscode.Position,
        _context: vscode.InlineCompletionContext, token: vscode.CancellationToken): Promise<vscode.InlineCompletionItem[]> {
        if (!this.settings().inline.enabled || this.host.status.state === "error" || document.uri.scheme === "output")
            return [];
        const offset = document.offsetAt(position);
        const text = document.getText();
        const abort = toAbortSignal(token);
        try {
            const suggestion = await this.completer.complete({prefix: text.slice(0, offset), suffix: text.slice(offset), languageId: document.languageId}, abort.signal);
            if (suggestion == null || token.isCancellationRequested)
                return [];
            return [new vscode.InlineCompletionItem(suggestion, new vscode.Range(position, position))];
        } catch {
            return [];
        } finally {
            abort.dispose();
        }
    }

    /** The past session to seed a suggestion with, if one is relevant and has KV for the loaded model. */
    private async findSeed(prefix: string, model: InlineModel): Promise<InlineSeed | null> {
        const query = memoryQuery(prefix);
        if (query === "")
            return null;
        if (this.lastSeed?.query === query)
            return this.lastSeed.seed;
        const store = await this.host.store();
        const [hit] = await store.searchText(query, {k: 1, workspace: this.workspaceKey(), excludeOutcomes: ["rejected", "tests-failed"]});
        let seed: InlineSeed | null = null;
        if (hit != null) {
            const kv = await store.getKv(hit.id, model.runtime.fingerprint.id);
            if (kv != null && kv.nTokens <= MAX_SEED_CELLS)
                seed = {id: hit.id, blob: kv.data, tokens: kv.tokens};
        }
        this.lastSeed = {query, seed};
        return seed;
    }

    public dispose(): void {
        this.completer.dispose();
    }
}
