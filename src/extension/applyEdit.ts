import * as vscode from "vscode";

const SCHEME = "hindsight-proposal";

/**
 * "Apply to file": the code becomes a proposed version of the target file (replacing the selection, or the whole
 * file when nothing is selected), shown with vscode.diff; the user applies or discards it. Applying marks the
 * answer's log accepted (unless it was rejected: a thumbs-down wins), discarding marks it rejected, and undoing an
 * applied edit soon after marks it rejected.
 */
export class ProposalService implements vscode.TextDocumentContentProvider, vscode.Disposable {
    private readonly proposals = new Map<string, string>();
    private readonly changed = new vscode.EventEmitter<vscode.Uri>();
    public readonly onDidChange = this.changed.event;
    private readonly disposables: vscode.Disposable[] = [];
    private counter = 0;

    public constructor(private readonly onOutcome: (logId: string, outcome: "accepted" | "rejected") => Promise<void>) {
        this.disposables.push(vscode.workspace.registerTextDocumentContentProvider(SCHEME, this));
    }

    public provideTextDocumentContent(uri: vscode.Uri): string {
        return this.proposals.get(uri.toString()) ?? "";
    }

    /** Shows the diff and waits for the user's choice. Returns whether the edit was applied. */
    public async propose(editor: vscode.TextEditor, code: string, logId: string | null): Promise<boolean> {
        const doc = editor.document;
        const range = editor.selection.isEmpty ? fullRange(doc) : new vscode.Range(editor.selection.start, editor.selection.end);
        const proposed = doc.getText(new vscode.Range(doc.positionAt(0), range.start)) + code + doc.getText(new vscode.Range(range.end, fullRange(doc).end));
        const name = doc.uri.path.split("/").pop() ?? "file";
        const uri = vscode.Uri.from({scheme: SCHEME, path: `/${++this.counter}/${name}`});
        this.proposals.set(uri.toString(), proposed);
        try {
            await vscode.commands.executeCommand("vscode.diff", doc.uri, uri, `${name} ↔ Hindsight's proposal`, {preview: true});
            const choice = await vscode.window.showInformationMessage(`Apply Hindsight's change to ${name}?`, "Apply", "Discard");
            if (choice !== "Apply") {
                if (logId != null && choice === "Discard")
                    await this.onOutcome(logId, "rejected");
                return false;
            }
            const edit = new vscode.WorkspaceEdit();
            edit.replace(doc.uri, range, code);
            const applied = await vscode.workspace.applyEdit(edit);
            if (applied && logId != null) {
                await this.onOutcome(logId, "accepted");
                this.watchUndo(doc, logId);
            }
            return applied;
        } finally {
            this.proposals.delete(uri.toString());
        }
    }

    /** An undo of the applied edit within two minutes marks the log rejected. */
    private watchUndo(doc: vscode.TextDocument, logId: string): void {
        const subscription = vscode.workspace.onDidChangeTextDocument((event) => {
            if (event.document === doc && event.reason === vscode.TextDocumentChangeReason.Undo) {
                stop();
                void this.onOutcome(logId, "rejected");
            }
        });
        const timer = setTimeout(() => stop(), 2 * 60 * 1000);
        const stop = () => {
            clearTimeout(timer);
            subscription.dispose();
        };
        this.disposables.push({dispose: stop});
    }

    public dispose(): void {
        this.disposables.forEach((d) => d.dispose());
        this.changed.dispose();
    }
}

function fullRange(doc: vscode.TextDocument): vscode.Range {
    return new vscode.Range(doc.positionAt(0), doc.positionAt(doc.getText().length));
}
