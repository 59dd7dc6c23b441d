import * as vscode from "vscode";
import {toAbortSignal} from "../cancellation.js";
import type {EngineHost} from "../engineHost.js";
import type {HostSettings} from "../settings.js";

/**
 * Inline suggestions for every file: the document around the cursor goes to the engine's `InlineCompletions`
 * (debounced by inline.delayMs, cancelled when the user types on: VS Code's CancellationToken becomes an
 * AbortSignal, capped in tokens and lines, seeded with a past session's KV with `inline.useMemory`). Any error
 * gives no suggestion. A model that failed to load is not retried from typing: the status bar shows the error and
 * the chat or a command retries.
 */
export class HindsightInlineProvider implements vscode.InlineCompletionItemProvider, vscode.Disposable {
    public constructor(private readonly host: EngineHost, private readonly settings: () => HostSettings, private readonly workspaceKey: () => string) {}

    public async provideInlineCompletionItems(document: vscode.TextDocument, position: vscode.Position,
        _context: vscode.InlineCompletionContext, token: vscode.CancellationToken): Promise<vscode.InlineCompletionItem[]> {
        const settings = this.settings();
        if (!settings.inline.enabled || this.host.status.state === "error" || document.uri.scheme === "output")
            return [];
        const offset = document.offsetAt(position);
        const text = document.getText();
        const abort = toAbortSignal(token);
        try {
            const inline = await this.host.inline();
            const memory = settings.inline.useMemory ? {workspace: this.workspaceKey()} : null;
            const suggestion = await inline.complete({prefix: text.slice(0, offset), suffix: text.slice(offset), languageId: document.languageId, memory}, abort.signal);
            if (suggestion == null || token.isCancellationRequested)
                return [];
            return [new vscode.InlineCompletionItem(suggestion, new vscode.Range(position, position))];
        } catch {
            return [];
        } finally {
            abort.dispose();
        }
    }

    /** The completions belong to the engine host (disposed with the loaded model). */
    public dispose(): void {}
}
