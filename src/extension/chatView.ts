import {randomBytes} from "node:crypto";
import * as vscode from "vscode";
import {parseToHost, toWebview, type ToHostMessage} from "../shared/protocol.js";
import type {ChatController} from "./chatController.js";
import type {EngineHost} from "./engineHost.js";

/** What the chat view asks of the rest of the extension (commands that touch the editor and the store). */
export interface ChatActions {
    openSession(logId: string): Promise<void>;
    forget(logId: string): Promise<void>;
    mark(logId: string, outcome: "accepted" | "rejected"): Promise<void>;
    insert(code: string, logId: string | null): Promise<void>;
    apply(code: string, logId: string | null): Promise<void>;
    reportError(err: unknown): void;
}

/**
 * The chat sidebar (`hindsight.chat`). The page is static HTML with a CSP of `default-src 'none'` and one script
 * with a fresh nonce; resources come only from dist/webview. State reaches the page only as messages, after the
 * page says `ready`. Every incoming message is validated (`parseToHost`) before it is acted on.
 */
export class ChatViewProvider implements vscode.WebviewViewProvider, vscode.Disposable {
    public static readonly viewId = "hindsight.chat";
    private view: vscode.WebviewView | undefined;
    private readonly disposables: vscode.Disposable[] = [];

    public constructor(private readonly extensionUri: vscode.Uri, private readonly chat: ChatController, private readonly host: EngineHost,
        private readonly actions: ChatActions, private readonly output: vscode.OutputChannel) {
        this.disposables.push(host.onDidChangeStatus((status) => {
            void this.view?.webview.postMessage(toWebview("status", status));
        }));
    }

    public resolveWebviewView(view: vscode.WebviewView): void {
        this.view = view;
        const root = vscode.Uri.joinPath(this.extensionUri, "dist", "webview");
        view.webview.options = {enableScripts: true, localResourceRoots: [root]};
        view.webview.html = this.html(view.webview, root);
        const post = (message: ReturnType<typeof toWebview>) => {
            void view.webview.postMessage(message);
        };
        const subscriptions = [
            view.webview.onDidReceiveMessage((data: unknown) => {
                const message = parseToHost(data);
                if (message == null) {
                    this.output.appendLine(`Ignored an invalid message from the chat view: ${JSON.stringify(data)?.slice(0, 200)}`);
                    return;
                }
                this.handle(message, post).catch((err: unknown) => this.actions.reportError(err));
            }),
            view.onDidDispose(() => {
                if (this.view === view) {
                    this.view = undefined;
                    this.chat.connect(undefined);
                }
                subscriptions.forEach((d) => d.dispose());
            })
        ];
    }

    /** Shows the view (used when a command asks without the view open). */
    public async reveal(): Promise<void> {
        if (this.view != null)
            this.view.show(true);
        else
            await vscode.commands.executeCommand(`${ChatViewProvider.viewId}.focus`);
    }

    private async handle(message: ToHostMessage, post: (message: ReturnType<typeof toWebview>) => void): Promise<void> {
        switch (message.type) {
            case "ready":
                this.chat.connect(post);
                post(toWebview("init", {
                    history: [...this.chat.entries],
                    status: this.host.status,
                    attachSelection: this.chat.attachSelection,
                    trusted: vscode.workspace.isTrusted
                }));
                return;
            case "ask":
                await this.chat.ask({request: message.payload.text, requestId: message.payload.requestId, attachSelection: message.payload.attachSelection})
                    .catch((err: unknown) => this.actions.reportError(err));
                return;
            case "abort":
                this.chat.abort(message.payload.requestId);
                return;
            case "newChat":
                this.chat.newChat();
                return;
            case "openSession":
                return this.actions.openSession(message.payload.logId);
            case "forget":
                return this.actions.forget(message.payload.logId);
            case "mark":
                return this.actions.mark(message.payload.logId, message.payload.outcome);
            case "copy":
                await vscode.env.clipboard.writeText(message.payload.code);
                void vscode.window.setStatusBarMessage("Hindsight: code copied", 2000);
                return;
            case "insert":
                return this.actions.insert(message.payload.code, message.payload.logId);
            case "apply":
                return this.actions.apply(message.payload.code, message.payload.logId);
            case "setAttachSelection":
                this.chat.attachSelection = message.payload.enabled;
                return;
        }
    }

    public postToView(message: ReturnType<typeof toWebview>): void {
        void this.view?.webview.postMessage(message);
    }

    private html(webview: vscode.Webview, root: vscode.Uri): string {
        const nonce = randomBytes(18).toString("base64");
        const uri = (...parts: string[]) => webview.asWebviewUri(vscode.Uri.joinPath(root, ...parts)).toString();
        const csp = [
            "default-src 'none'",
            `style-src ${webview.cspSource}`,
            `font-src ${webview.cspSource}`,
            `img-src ${webview.cspSource}`,
            `script-src 'nonce-${nonce}'`
        ].join("; ");
        return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${uri("codicons", "codicon.css")}">
<link rel="stylesheet" href="${uri("main.css")}">
<title>Hindsight</title>
</head>
<body>
<div id="root"></div>
<script nonce="${nonce}" src="${uri("main.js")}"></script>
</body>
</html>`;
    }

    public dispose(): void {
        this.disposables.forEach((d) => d.dispose());
    }
}
