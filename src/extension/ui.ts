import * as vscode from "vscode";
import {errorCode, errorMessage} from "./engineLoader.js";

/**
 * One clear sentence and a button for the next step, chosen by the error's `code` (never by its message).
 * The detail goes to the output channel.
 */
export async function showError(err: unknown, output: vscode.OutputChannel): Promise<void> {
    const code = errorCode(err);
    const message = errorMessage(err);
    output.appendLine(`[error${code != null ? ` ${code}` : ""}] ${message}`);
    if (err instanceof Error && err.cause != null)
        output.appendLine(`  caused by: ${errorMessage(err.cause)}`);
    if (code === "ABORTED")
        return;
    const actions: {title: string, command: string}[] = [];
    if (code === "MODEL_NOT_FOUND" || code === "MODEL_INVALID")
        actions.push({title: "Download model", command: "hindsight.downloadModel"}, {title: "Select model", command: "hindsight.selectModel"});
    else if (code === "GPU_UNAVAILABLE" || code === "MODEL_LOAD_FAILED" || code === "KV_TYPE_UNSUPPORTED")
        actions.push({title: "Open settings", command: "hindsight.openSettings"}, {title: "Select model", command: "hindsight.selectModel"});
    else if (code === "STORE_UNAVAILABLE" || code === "STORE_CORRUPT")
        actions.push({title: "Open settings", command: "hindsight.openSettings"});
    else
        actions.push({title: "Show log", command: "hindsight.showLog"});
    const picked = await vscode.window.showErrorMessage(`Hindsight: ${message}`, ...actions.map((a) => a.title));
    const action = actions.find((a) => a.title === picked);
    if (action != null)
        await vscode.commands.executeCommand(action.command);
}

/** A command result for callers that pass an argument (tests, other extensions): errors reject with the code kept. */
export class CommandError extends Error {
    public constructor(public readonly code: string, message: string) {
        super(message);
        this.name = "CommandError";
    }
}
