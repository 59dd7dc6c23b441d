import * as vscode from "vscode";
import {literal, object, optional, str} from "../shared/validate.js";
import type {AskCommandResult, ChatController} from "./chatController.js";
import {attachedFileOf, editorContextOf} from "./chatController.js";
import type {ChatViewProvider} from "./chatView.js";
import type {EngineHost} from "./engineHost.js";
import {requireEngineModule} from "./engineLoader.js";
import {memoryCommands, type MemoryService} from "./memoryCommands.js";
import type {MemoryTreeProvider} from "./memoryView.js";
import {modelCommands} from "./modelCommands.js";
import type {HostSettings} from "./settings.js";
import {registerCommand} from "./commandKit.js";
import {CommandError} from "./ui.js";

export interface CommandDeps {
    context: vscode.ExtensionContext;
    host: EngineHost;
    chat: ChatController;
    chatView: ChatViewProvider;
    memory: MemoryService;
    memoryTree: MemoryTreeProvider;
    settings: () => HostSettings;
    output: vscode.OutputChannel;
    lastEditor: () => vscode.TextEditor | undefined;
}

const mode = optional(literal("none", "text-last", "text-all", "kv"));
const askArg = object({request: str, mode});
const selectionArg = object({request: optional(str), mode});
const none = object({});

const selectionPrompts: Record<string, {title: string, request?: string}> = {
    "hindsight.askSelection": {title: "Ask about Selection"},
    "hindsight.explain": {title: "Explain", request: "Explain what this code does and point out anything surprising."},
    "hindsight.fix": {title: "Fix", request: "Find the bug in this code and fix it. Answer with the corrected code in one code block."},
    "hindsight.writeTests": {title: "Write Tests", request: "Write unit tests for this code, in one code block, using the project's test framework."}
};

export function registerCommands(deps: CommandDeps): vscode.Disposable[] {
    const {chat, chatView, host} = deps;
    const out: vscode.Disposable[] = [];

    out.push(registerCommand(deps, "hindsight.ask", askArg, async (arg): Promise<AskCommandResult | undefined> => {
        const request = arg?.request ?? await vscode.window.showInputBox({prompt: "Ask Hindsight", placeHolder: "What should Hindsight do?", ignoreFocusOut: true});
        if (request == null || request.trim() === "")
            return undefined;
        if (arg == null)
            await chatView.reveal();
        return chat.ask({request, mode: arg?.mode, attachSelection: arg == null && chat.attachSelection});
    }));

    for (const [id, spec] of Object.entries(selectionPrompts)) {
        out.push(registerCommand(deps, id, selectionArg, async (arg): Promise<AskCommandResult | undefined> => {
            const editor = deps.lastEditor();
            if (editor == null)
                throw new CommandError("NO_EDITOR", "Open a file and select some code first.");
            const engine = await requireEngineModule();
            const context = editorContextOf(editor, deps.settings(), engine.isExcludedPath);
            if (context == null)
                throw new CommandError("EXCLUDED_FILE", "This file matches hindsight.excludeGlobs (it may hold secrets), so it is not sent to the model.");
            const request = arg?.request ?? spec.request ??
                await vscode.window.showInputBox({prompt: "Ask Hindsight about the selection", ignoreFocusOut: true});
            if (request == null || request.trim() === "")
                return undefined;
            if (arg == null)
                await chatView.reveal();
            return chat.ask({request, mode: arg?.mode, editorContext: context, attachedFiles: attachedFileOf(editor)});
        }));
    }

    out.push(registerCommand(deps, "hindsight.newChat", none, async () => {
        chat.newChat();
        return {cleared: true};
    }));

    out.push(registerCommand(deps, "hindsight.stop", none, async () => {
        chat.abort();
        return {stopped: true};
    }));

    out.push(registerCommand(deps, "hindsight.status", object({show: optional(literal(true, false))}), async (arg, fromUi) => {
        const status = host.status;
        if (fromUi || arg?.show === true)
            void showStatusDetails(deps);
        return status;
    }));

    out.push(registerCommand(deps, "hindsight.openSettings", none, async () => {
        await vscode.commands.executeCommand("workbench.action.openSettings", "@ext:hindsight-dev.hindsight");
        return {opened: true};
    }));

    out.push(registerCommand(deps, "hindsight.showLog", none, async () => {
        deps.output.show(true);
        return {shown: true};
    }));

    out.push(...memoryCommands(deps), ...modelCommands(deps));
    return out;
}

async function showStatusDetails(deps: CommandDeps): Promise<void> {
    const s = deps.host.status;
    const settings = deps.settings();
    const lines = [
        `Model: ${s.model ?? (settings.modelPath || "not loaded")}`,
        `State: ${s.state}${s.device != null ? ` on ${s.device}` : ""}`,
        `Memory: ${s.memorySize ?? "?"} logs in ${settings.storageFolder} (${settings.memoryScope} scope)`,
        vscode.workspace.isTrusted ? "" : "Untrusted workspace: no files are read and nothing is logged."
    ].filter((l) => l !== "");
    if (s.error != null)
        lines.push(`Error: ${s.error}`);
    const picked = await vscode.window.showInformationMessage(`Hindsight — ${lines.join(" · ")}`, "Show log", "Select model", "Open settings");
    const actions: Record<string, string> = {"Show log": "hindsight.showLog", "Select model": "hindsight.selectModel", "Open settings": "hindsight.openSettings"};
    const command = picked == null ? undefined : actions[picked];
    if (command != null)
        await vscode.commands.executeCommand(command);
}
