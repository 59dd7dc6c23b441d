import * as vscode from "vscode";
import {toWebview} from "../shared/protocol.js";
import {bool, object, optional, str} from "../shared/validate.js";
import type {ChatController} from "./chatController.js";
import type {ChatViewProvider} from "./chatView.js";
import type {CommandDeps} from "./commands.js";
import {registerCommand} from "./commandKit.js";
import {editorOutcome} from "./editorOutcome.js";
import {requireEngineModule} from "./engineLoader.js";
import type {EngineHost} from "./engineHost.js";
import {filterMemory, type MemoryItem, type MemoryTreeProvider} from "./memoryView.js";
import {CommandError} from "./ui.js";

/** The memory operations the chat view, the Memory view and the commands share. */
export class MemoryService {
    public constructor(private readonly host: EngineHost, private readonly chat: ChatController, private readonly tree: MemoryTreeProvider,
        private readonly chatView: () => ChatViewProvider | undefined) {}

    public list(): Promise<MemoryItem[]> {
        return this.tree.list();
    }

    public async forget(logId: string): Promise<boolean> {
        const existed = await (await this.host.store()).deleteLog(logId);
        this.chat.forgotten(logId);
        this.changed();
        return existed;
    }

    public async mark(logId: string, outcome: "accepted" | "rejected"): Promise<void> {
        await (await this.host.store()).setOutcome(logId, outcome);
        this.chat.outcomeChanged(logId, outcome);
        this.tree.refresh();
    }

    /**
     * An outcome from the editor (the answer's code applied or inserted, or a proposal discarded or undone): as
     * `mark`, except that using the code never turns a rejected log back to accepted (`editorOutcome`).
     */
    public async markFromEditor(logId: string, signal: "accepted" | "rejected"): Promise<void> {
        const log = await (await this.host.store()).getLog(logId);
        const outcome = log == null ? null : editorOutcome(log.outcome, signal);
        if (outcome != null)
            await this.mark(logId, outcome);
    }

    public async setPinned(logId: string, pinned: boolean): Promise<void> {
        await (await this.host.store()).setPinned(logId, pinned);
        this.tree.refresh();
    }

    /** Sends the session to the chat view's detail panel. */
    public async openInChat(logId: string): Promise<void> {
        const log = await (await this.host.store()).getLog(logId);
        if (log == null) {
            this.chat.forgotten(logId);
            throw new CommandError("LOG_NOT_FOUND", "That past session no longer exists.");
        }
        // the files it read, as they are now (the chip said "files changed since"; this says which)
        const checker = log.files.length > 0 ? await this.chat.fileChecker() : null;
        const files = checker == null ? undefined : await (await requireEngineModule()).checkLogFiles(log, checker);
        this.chatView()?.postToView(toWebview("sessionDetail",
            {logId, task: log.task, reasoning: log.logText.trim(), createdAt: log.createdAt, outcome: log.outcome, pinned: log.pinned, files}));
    }

    /** Opens the session as a read-only markdown document. */
    public async openInEditor(logId: string): Promise<void> {
        const log = await (await this.host.store()).getLog(logId);
        if (log == null)
            throw new CommandError("LOG_NOT_FOUND", "That past session no longer exists.");
        const checker = log.files.length > 0 ? await this.chat.fileChecker() : null;
        const states = checker == null ? null : await (await requireEngineModule()).checkLogFiles(log, checker);
        const label = {unchanged: "unchanged", changed: "changed since", deleted: "deleted since"} as const;
        const files = log.files.length === 0 ? "" : `\n## Files it read\n\n${log.files.map((f, i) =>
            `- ${f.path}${states == null ? "" : ` (${label[states[i]!.state]})`}`).join("\n")}\n`;
        const content = `# ${log.task}\n\n- Date: ${log.createdAt}\n- Outcome: ${log.outcome}${log.pinned ? " (pinned)" : ""}\n- Workspace: ${log.workspace}\n` +
            `- KV tokens: ${log.nTokens}\n- Id: ${log.id}\n${files}\n## Reasoning\n\n${log.logText.trim()}\n`;
        const doc = await vscode.workspace.openTextDocument({language: "markdown", content});
        await vscode.window.showTextDocument(doc, {preview: true});
    }

    public changed(): void {
        this.tree.refresh();
        void this.host.refreshMemorySize().catch(() => undefined);
    }
}

const logIdArg = object({logId: optional(str)});
const fileArg = object({file: optional(str)});
const importArg = object({file: optional(str), trustKv: optional(bool)});

const keepKvChoice = "Keep KV (I Trust This File)";
const reencodeChoice = "Re-encode from Text";

/**
 * Whether to keep the KV caches of a file being imported: a modal question, with re-encoding (the safe choice)
 * first. Undefined when the user cancels.
 */
async function askTrustKv(file: string): Promise<boolean | undefined> {
    const choice = await vscode.window.showWarningMessage(`Import the KV caches in ${file} as they are?`, {
        modal: true,
        detail: "A KV cache is model state that the model reads as if it were text: one from a file you did not write yourself can carry " +
            "instructions that the session's text does not show. Re-encoding makes each cache again from the session's own text when " +
            "it is first reused (a moment per session)."
    }, reencodeChoice, keepKvChoice);
    return choice == null ? undefined : choice === keepKvChoice;
}
type TreeArg = {log: MemoryItem};

function logIdOf(arg: unknown): string | undefined {
    if (typeof arg === "object" && arg !== null && "log" in arg) {
        const log = (arg as TreeArg).log;
        return typeof log?.id === "string" ? log.id : undefined;
    }
    return undefined;
}

export function memoryCommands(deps: CommandDeps): vscode.Disposable[] {
    const {memory, chat, host} = deps;
    const last = (arg: {logId?: string} | undefined): string => {
        const id = arg?.logId ?? chat.lastLogId;
        if (id == null)
            throw new CommandError("LOG_NOT_FOUND", "There is no logged answer yet in this chat.");
        return id;
    };
    const out: vscode.Disposable[] = [];

    out.push(registerCommand(deps, "hindsight.forgetLast", logIdArg, async (arg) => {
        const logId = last(arg);
        await memory.forget(logId);
        return {logId};
    }));
    for (const [id, outcome] of [["hindsight.markGood", "accepted"], ["hindsight.markBad", "rejected"]] as const)
        out.push(registerCommand(deps, id, logIdArg, async (arg) => {
            const logId = last(arg);
            await memory.mark(logId, outcome);
            return {logId, outcome};
        }));

    out.push(registerCommand(deps, "hindsight.listMemory", object({filter: optional(str)}), async (arg) =>
        filterMemory(await memory.list(), arg?.filter ?? "")));

    out.push(registerCommand(deps, "hindsight.showMemory", object({}), async () => {
        await vscode.commands.executeCommand("hindsight.memory.focus");
        return {shown: true};
    }));

    out.push(registerCommand(deps, "hindsight.exportMemory", fileArg, async (arg) => {
        const file = arg?.file ?? (await vscode.window.showSaveDialog({
            title: "Export Hindsight memory", saveLabel: "Export",
            defaultUri: vscode.Uri.file("hindsight-memory.jsonl"), filters: {"Hindsight logs": ["jsonl"]}
        }))?.fsPath;
        if (file == null)
            return undefined;
        const count = await (await host.store()).exportTo(file);
        if (arg == null)
            void vscode.window.showInformationMessage(`Hindsight: exported ${count} past sessions to ${file}.`);
        return {count, file};
    }));

    // A caller that names the file (tests, other extensions) gets the KV dropped unless it passes trustKv; a user is asked.
    out.push(registerCommand(deps, "hindsight.importMemory", importArg, async (arg) => {
        const file = arg?.file ?? (await vscode.window.showOpenDialog({
            title: "Import Hindsight memory", openLabel: "Import", canSelectMany: false, filters: {"Hindsight logs": ["jsonl"], "All files": ["*"]}
        }))?.[0]?.fsPath;
        if (file == null)
            return undefined;
        const trustKv = arg?.trustKv ?? (arg?.file != null ? false : await askTrustKv(file));
        if (trustKv == null)
            return undefined;
        const result = await (await host.store()).importFrom(file, trustKv ? {keepKv: {acceptRisk: true}} : {});
        memory.changed();
        if (arg == null)
            void vscode.window.showInformationMessage(`Hindsight: imported ${result.added} past sessions. ` + (trustKv
                ? `Their ${result.kvKept} KV caches were kept as the file had them.`
                : "Their KV caches were dropped; each session is encoded from its own text when it is first reused."));
        return {count: result.added, file, kv: trustKv ? "kept" : "dropped", kvKept: result.kvKept, kvDropped: result.kvDropped};
    }));

    out.push(registerCommand(deps, "hindsight.reencodeMemory", object({}), async (arg) => {
        const {engine} = await host.ready();
        const result = await vscode.window.withProgress({
            location: vscode.ProgressLocation.Notification, title: "Hindsight: encoding past sessions for this model", cancellable: true
        }, async (progress, token) => {
            const abort = new AbortController();
            const sub = token.onCancellationRequested(() => abort.abort());
            let shown = 0;
            try {
                return await engine.reencodeAll((done, total) => {
                    const pct = total > 0 ? Math.floor(done / total * 100) : 100;
                    progress.report({message: `${done}/${total}`, increment: pct - shown});
                    shown = pct;
                }, abort.signal);
            } finally {
                sub.dispose();
            }
        });
        memory.changed();
        if (arg == null)
            void vscode.window.showInformationMessage(`Hindsight: encoded ${result.encoded} of ${result.total} past sessions (${result.embedded} embedded for retrieval).`);
        return result;
    }));

    // Memory view items (the argument is the tree item)
    const itemCommand = (id: string, run: (logId: string) => Promise<void>) =>
        vscode.commands.registerCommand(id, async (item?: unknown) => {
            const logId = logIdOf(item);
            if (logId != null)
                await run(logId).catch((err: unknown) => vscode.window.showErrorMessage(`Hindsight: ${err instanceof Error ? err.message : String(err)}`));
        });
    out.push(
        itemCommand("hindsight.memory.open", (logId) => memory.openInEditor(logId)),
        itemCommand("hindsight.memory.delete", async (logId) => {
            const ok = await vscode.window.showWarningMessage("Forget this past session? It will not be reused again.", {modal: true}, "Forget");
            if (ok === "Forget")
                await memory.forget(logId);
        }),
        itemCommand("hindsight.memory.pin", (logId) => memory.setPinned(logId, true)),
        itemCommand("hindsight.memory.unpin", (logId) => memory.setPinned(logId, false)),
        itemCommand("hindsight.memory.markGood", (logId) => memory.mark(logId, "accepted")),
        itemCommand("hindsight.memory.markBad", (logId) => memory.mark(logId, "rejected")),
        registerCommand(deps, "hindsight.memory.filter", object({filter: optional(str)}), async (arg) => {
            const filter = arg?.filter ?? await vscode.window.showInputBox({prompt: "Filter past sessions (words in the task, outcome or date)", value: deps.memoryTree.filter});
            if (filter != null)
                deps.memoryTree.setFilter(filter);
            return {filter: deps.memoryTree.filter};
        }),
        registerCommand(deps, "hindsight.memory.clearFilter", object({}), async () => {
            deps.memoryTree.setFilter("");
            return {filter: ""};
        }),
        registerCommand(deps, "hindsight.memory.refresh", object({}), async () => {
            memory.changed();
            return {refreshed: true};
        })
    );
    return out;
}
