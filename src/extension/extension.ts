/**
 * Entry point of the VS Code extension: the composition root. Activation registers views, commands, the status
 * bar and the inline provider, each in its own try/catch (one broken feature cannot stop the others), and loads
 * nothing native: the engine module, the model and the store load on first use (engineHost.ts).
 */
import * as vscode from "vscode";
import type {StatusInfo} from "../shared/protocol.js";
import {ProposalService} from "./applyEdit.js";
import {ChatController} from "./chatController.js";
import {ChatViewProvider} from "./chatView.js";
import {registerCommands} from "./commands.js";
import {readSettings, reloadingSettings} from "./config.js";
import {EngineHost} from "./engineHost.js";
import {gpuPreparer} from "./gpuSetup.js";
import {HindsightInlineProvider} from "./inline/InlineProvider.js";
import {MemoryService} from "./memoryCommands.js";
import {MemoryTreeProvider} from "./memoryView.js";
import {createStatusBar} from "./statusBar.js";
import {showError} from "./ui.js";

/** What `activate` returns, for tests and other extensions. */
export interface HindsightApi {
    /** Resolves when the model, the store and the engine are loaded (loading them if needed); rejects with the load error. */
    whenReady(): Promise<void>;
    /** The model state, as `hindsight.status` returns it. */
    status(): StatusInfo;
}

let host: EngineHost | undefined;
let chatController: ChatController | undefined;

export function activate(context: vscode.ExtensionContext): HindsightApi {
    const started = Date.now();
    const output = vscode.window.createOutputChannel("Hindsight");
    context.subscriptions.push(output);
    const settings = () => readSettings(context);
    const log = (line: string) => output.appendLine(line);
    // the VSIX ships the CPU build of llama.cpp; a GPU's build is fetched on first use (gpuSetup.ts)
    const engineHost = new EngineHost(settings, log, {prepare: gpuPreparer(context, log)});
    host = engineHost;

    const feature = (name: string, register: () => vscode.Disposable | vscode.Disposable[]) => {
        try {
            const disposables = register();
            context.subscriptions.push(...(Array.isArray(disposables) ? disposables : [disposables]));
        } catch (err) {
            output.appendLine(`[activation] ${name} could not start: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
        }
    };

    let lastEditor = vscode.window.activeTextEditor;
    feature("editor tracking", () => vscode.window.onDidChangeActiveTextEditor((editor) => {
        if (editor != null)
            lastEditor = editor;
    }));
    const currentEditor = () => vscode.window.activeTextEditor ?? (lastEditor?.document.isClosed === false ? lastEditor : undefined);
    const chat = new ChatController(context, engineHost, settings, output, currentEditor);
    chatController = chat;
    context.subscriptions.push(chat);
    const memoryTree = new MemoryTreeProvider(engineHost, () => settings().memoryScope === "global" ? null : chat.workspace());
    context.subscriptions.push(memoryTree);
    let chatView: ChatViewProvider | undefined;
    const memory = new MemoryService(engineHost, chat, memoryTree, () => chatView);
    const reportError = (err: unknown) => void showError(err, output);

    let proposals: ProposalService | undefined;
    feature("apply edits", () => {
        proposals = new ProposalService((logId, outcome) => memory.markFromEditor(logId, outcome).catch(reportError));
        return proposals;
    });

    feature("chat view", () => {
        chatView = new ChatViewProvider(context.extensionUri, chat, engineHost, {
            openSession: (logId) => memory.openInChat(logId),
            forget: async (logId) => {
                await memory.forget(logId);
            },
            mark: (logId, outcome) => memory.mark(logId, outcome),
            insert: async (code, logId) => {
                const editor = currentEditor();
                if (editor == null)
                    throw new Error("Open a file to insert the code into.");
                // using the answer's code is a sign it was right (a thumbs-down still wins)
                if (await editor.edit((edit) => edit.replace(editor.selection, code)) && logId != null)
                    await memory.markFromEditor(logId, "accepted");
            },
            apply: async (code, logId) => {
                const editor = currentEditor();
                if (editor == null)
                    throw new Error("Open the file the change is for, then apply again.");
                await proposals?.propose(editor, code, logId);
            },
            reportError
        }, output);
        return [chatView, vscode.window.registerWebviewViewProvider(ChatViewProvider.viewId, chatView, {webviewOptions: {retainContextWhenHidden: true}})];
    });

    feature("memory view", () => {
        let size: number | null | undefined;
        return [
            vscode.window.createTreeView("hindsight.memory", {treeDataProvider: memoryTree, showCollapseAll: false}),
            // a new log (an answer) or a removed one changes the memory size: show the list again
            engineHost.onDidChangeStatus((status) => {
                if (status.memorySize !== size) {
                    size = status.memorySize;
                    memoryTree.refresh();
                }
            })
        ];
    });

    feature("commands", () => {
        if (chatView == null)
            throw new Error("the chat view is missing, so chat commands are not registered");
        return registerCommands({context, host: engineHost, chat, chatView, memory, memoryTree, settings, output, lastEditor: currentEditor});
    });

    feature("status bar", () => createStatusBar(engineHost.onDidChangeStatus, engineHost.status));

    feature("inline suggestions", () => {
        const provider = new HindsightInlineProvider(engineHost, settings, () => chat.workspace());
        return [provider, vscode.languages.registerInlineCompletionItemProvider({pattern: "**"}, provider)];
    });

    feature("settings", () => vscode.workspace.onDidChangeConfiguration((event) => {
        if (reloadingSettings.some((key) => event.affectsConfiguration(key))) {
            output.appendLine("Settings changed: the model and store load again on next use.");
            engineHost.reload().then(() => memoryTree.refresh(), reportError);
        } else if (event.affectsConfiguration("hindsight.memoryScope"))
            memoryTree.refresh();
    }));

    output.appendLine(`Hindsight activated in ${Date.now() - started} ms (workspace ${vscode.workspace.isTrusted ? "trusted" : "untrusted: no file tools, no logging"}).`);
    return {
        whenReady: async () => {
            await engineHost.ready();
        },
        status: () => engineHost.status
    };
}

export async function deactivate(): Promise<void> {
    // stop a running answer first, so shutting down does not wait for it to finish
    chatController?.abort();
    chatController = undefined;
    const current = host;
    host = undefined;
    await current?.dispose();
}
