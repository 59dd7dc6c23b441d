import * as vscode from "vscode";
import type {EngineHost} from "../engineHost.js";
import type {HostSettings} from "../settings.js";
import {InlineCompleter, toAbortSignal} from "./inlineLogic.js";

/**
 * Inline suggestions for every file: debounced (inline.delayMs), cancelled when the user types on (VS Code's
 * CancellationToken becomes an AbortSignal), generated on the inline model's own context, capped in tokens and
 * lines. Any error gives no suggestion. A model that failed to load is not retried from typing: the status bar
 * shows the error and the chat or a command retries.
 */
export class HindsightInlineProvider implements vscode.InlineCompletionItemProvider, vscode.Disposable {
    private readonly completer: InlineCompleter;

    public constructor(private readonly host: EngineHost, private readonly settings: () => HostSettings, output: vscode.OutputChannel) {
        this.completer = new InlineCompleter({
            fimTokens: async () => (await host.inline()).fimTokens(),
            generate: async (prompt, options) => (await host.inline()).generate(prompt, options)
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

    public dispose(): void {
        this.completer.dispose();
    }
}
