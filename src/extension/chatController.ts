import {randomUUID} from "node:crypto";
import * as vscode from "vscode";
import type {FileChecker, MemoryModeName, Reliance, StaleLog} from "../engine/index.js";
import {defaults} from "../engine/options.js";
import {toWebview, type ChatEntry, type ReusedLog, type ToWebviewMessage} from "../shared/protocol.js";
import {conversationLogIds, conversationOf} from "./chatConversation.js";
import {requireEngineModule, errorCode, errorMessage} from "./engineLoader.js";
import type {EngineHost} from "./engineHost.js";
import {workspaceKey, type HostSettings} from "./settings.js";

export interface AskRequest {
    request: string;
    mode?: MemoryModeName;
    /** Editor context (file and selection) to attach, already formatted. */
    editorContext?: string;
    /** The workspace files `editorContext` comes from (workspace-relative), recorded with the session's log. */
    attachedFiles?: string[];
    /** Attach the active editor's selection (or file) when `editorContext` is not given. */
    attachSelection?: boolean;
    /** Id from the webview; a new one otherwise. */
    requestId?: string;
}

/** What `hindsight.ask` and the selection commands return. */
export interface AskCommandResult {
    answer: string;
    usedLogs: string[];
    logId: string | null;
}

const HISTORY_KEY = "hindsight.chatHistory";
const MAX_HISTORY = 200;
const MAX_ATTACH_CHARS = 6000;

/**
 * The chat: one conversation per workspace (kept in workspaceState; New Chat starts a new one), requests from the
 * view or from commands, each sent with the conversation's earlier exchanges and streamed to the view as `stream`
 * messages. The engine serialises requests; each has its own AbortController.
 */
export class ChatController implements vscode.Disposable {
    private history: ChatEntry[];
    private readonly running = new Map<string, AbortController>();
    private post: ((message: ToWebviewMessage) => void) | undefined;
    /** Bad `hindsight.excludeGlobs` entries already reported (each once per session). */
    private readonly reportedGlobs = new Set<string>();
    public attachSelection = false;
    /** The log of the last finished answer (forgetLast / markGood / markBad act on it). */
    public lastLogId: string | null = null;

    public constructor(private readonly context: vscode.ExtensionContext, private readonly host: EngineHost,
        private readonly settings: () => HostSettings, private readonly output: vscode.OutputChannel,
        private readonly editor: () => vscode.TextEditor | undefined = () => vscode.window.activeTextEditor) {
        const saved = context.workspaceState.get<ChatEntry[]>(HISTORY_KEY) ?? [];
        // an answer cut off by a reload is finished as interrupted
        this.history = saved.map((e) => e.done ? e : {...e, done: true, error: e.error ?? "Interrupted."});
        this.lastLogId = [...this.history].reverse().find((e) => e.logId != null)?.logId ?? null;
    }

    public get entries(): readonly ChatEntry[] {
        return this.history;
    }

    /** Where view messages go (the chat view, once it has said `ready`); undefined while no view is open. */
    public connect(post: ((message: ToWebviewMessage) => void) | undefined): void {
        this.post = post;
    }

    private send(message: ToWebviewMessage): void {
        this.post?.(message);
    }

    private save(): void {
        this.history = this.history.slice(-MAX_HISTORY);
        void this.context.workspaceState.update(HISTORY_KEY, this.history);
    }

    public workspace(): string {
        return workspaceKey(this.settings().memoryScope, vscode.workspace.workspaceFolders?.[0]?.uri.fsPath);
    }

    public async ask(req: AskRequest): Promise<AskCommandResult> {
        const requestId = req.requestId ?? randomUUID();
        const text = req.request.trim();
        const user: ChatEntry = {id: requestId, role: "user", text, done: true, logId: null, reused: []};
        const answer: ChatEntry = {id: requestId, role: "assistant", text: "", done: false, logId: null, reused: []};
        // the earlier exchanges since the last New Chat (finished ones only) reach the model with this request
        const conversation = conversationOf(this.history);
        const ownLogs = conversationLogIds(this.history);
        this.history.push(user, answer);
        this.send(toWebview("started", {requestId, text}));
        const abort = new AbortController();
        this.running.set(requestId, abort);
        try {
            const trusted = vscode.workspace.isTrusted;
            const engine = await requireEngineModule();
            const settings = this.settings();
            this.reportBadGlobs(engine.excludeGlobProblems(settings.excludeGlobs));
            const folder = vscode.workspace.workspaceFolders?.find((f) => f.uri.scheme === "file");
            const fromEditor = req.editorContext == null && req.attachSelection === true;
            const editorContext = req.editorContext ?? (fromEditor ? editorContextOf(this.editor(), settings, engine.isExcludedPath) : undefined);
            const attachedFiles = req.attachedFiles ?? (fromEditor && editorContext != null ? attachedFileOf(this.editor(), folder) : undefined);
            // untrusted workspace: no tool reads files and nothing is logged
            const tools = trusted && folder != null ? new engine.DirectoryToolHost(folder.uri.fsPath, settings.excludeGlobs) : null;
            const result = await this.host.ask(text, {
                workspace: this.workspace(),
                mode: req.mode ?? defaults.mode,
                tools,
                files: this.checksFiles(settings) ? tools?.files ?? null : null,
                log: trusted,
                editorContext,
                attachedFiles,
                conversation,
                // a follow-up evaluates only its new tokens; the conversation's own logs are not retrieved again
                reuseCache: true,
                excludeLogs: ownLogs,
                signal: abort.signal,
                onText: (chunk) => {
                    answer.text += chunk;
                    this.send(toWebview("stream", {requestId, chunk, done: false}));
                }
            });
            const reused = await this.describe(result.usedLogs, result.staleLogs, result.reliance);
            answer.text = result.answer.trim() !== "" ? result.answer : answer.text;
            Object.assign(answer, {done: true, logId: result.logId, reused});
            if (result.logId != null)
                this.lastLogId = result.logId;
            this.send(toWebview("stream", {requestId, chunk: "", done: true, logId: result.logId, reused, final: answer.text}));
            return {answer: result.answer, usedLogs: result.usedLogs, logId: result.logId};
        } catch (err) {
            const message = errorCode(err) === "ABORTED" ? "Stopped." : errorMessage(err);
            Object.assign(answer, {done: true, error: message});
            this.send(toWebview("stream", {requestId, chunk: "", done: true, error: message}));
            throw err;
        } finally {
            this.running.delete(requestId);
            this.save();
        }
    }

    /**
     * Whether sessions' files are recorded and checked (stale-log awareness): in a trusted workspace with a folder,
     * and not with `memoryScope: global`, whose logs come from several workspaces and so cannot be checked against one.
     */
    private checksFiles(settings: HostSettings): boolean {
        return vscode.workspace.isTrusted && settings.memoryScope !== "global" && vscode.workspace.workspaceFolders?.some((f) => f.uri.scheme === "file") === true;
    }

    /** The checker for the files of this workspace's sessions (the session panel lists them), or null where none are checked. */
    public async fileChecker(): Promise<FileChecker | null> {
        const settings = this.settings();
        const folder = vscode.workspace.workspaceFolders?.find((f) => f.uri.scheme === "file");
        if (!this.checksFiles(settings) || folder == null)
            return null;
        const engine = await requireEngineModule();
        return new engine.WorkspaceFileChecker(folder.uri.fsPath, {excludeGlobs: settings.excludeGlobs});
    }

    /**
     * Chips under an answer: the reused logs with their tasks, and for a stale one the files that changed since
     * (a log deleted meanwhile is left out), and the share of the answer each one already held.
     */
    private async describe(ids: readonly string[], stale: readonly StaleLog[], reliance: readonly Reliance[] = []): Promise<ReusedLog[]> {
        if (ids.length === 0)
            return [];
        const store = await this.host.store();
        const out: ReusedLog[] = [];
        for (const id of ids) {
            const log = await store.getLog(id).catch(() => null);
            const files = stale.find((s) => s.logId === id);
            const share = reliance.find((r) => r.logId === id)?.share;
            if (log != null)
                out.push({logId: id, task: log.task, ...(files != null ? {stale: {changed: files.changed, deleted: files.deleted}} : {}), ...(share != null ? {reliance: share} : {})});
        }
        return out;
    }

    public abort(requestId?: string): void {
        for (const [id, controller] of this.running)
            if (requestId == null || id === requestId)
                controller.abort();
    }

    public newChat(): void {
        this.abort();
        this.history = [];
        this.save();
        this.send(toWebview("cleared", {}));
    }

    /** A log was forgotten: its chips and thumbs disappear from the history too. */
    public forgotten(logId: string): void {
        for (const entry of this.history) {
            entry.reused = entry.reused.filter((r) => r.logId !== logId);
            if (entry.logId === logId)
                entry.logId = null;
        }
        if (this.lastLogId === logId)
            this.lastLogId = [...this.history].reverse().find((e) => e.logId != null)?.logId ?? null;
        this.save();
        this.send(toWebview("forgotten", {logId}));
    }

    public outcomeChanged(logId: string, outcome: "accepted" | "rejected"): void {
        for (const entry of this.history)
            if (entry.logId === logId)
                entry.outcome = outcome;
        this.save();
        this.send(toWebview("outcome", {logId, outcome}));
    }

    public dispose(): void {
        this.abort();
        this.post = undefined;
        this.output.appendLine("Chat disposed.");
    }

    /** A glob that cannot be used is left out of matching (the others still apply); say so once, clearly. */
    private reportBadGlobs(problems: readonly {glob: string, reason: string}[]): void {
        for (const {glob, reason} of problems) {
            if (this.reportedGlobs.has(glob))
                continue;
            this.reportedGlobs.add(glob);
            const text = `hindsight.excludeGlobs: "${glob}" is ignored because ${reason}. Fix it in Settings; the other globs still apply.`;
            this.output.appendLine(text);
            void vscode.window.showWarningMessage(text);
        }
    }
}

/** The workspace-relative path of the editor's file, for the log's file list; none for an unsaved or outside file. */
export function attachedFileOf(editor: vscode.TextEditor | undefined,
    folder = vscode.workspace.workspaceFolders?.find((f) => f.uri.scheme === "file")): string[] | undefined {
    const uri = editor?.document.uri;
    if (uri == null || folder == null || uri.scheme !== "file" || vscode.workspace.getWorkspaceFolder(uri)?.uri.toString() !== folder.uri.toString())
        return undefined;
    return [vscode.workspace.asRelativePath(uri, false)];
}

/** The attached context: the selection (or the whole file when nothing is selected), never an excluded (secret) file. */
export function editorContextOf(editor: vscode.TextEditor | undefined, settings: HostSettings,
    isExcluded: (path: string, globs: string[]) => boolean): string | undefined {
    if (editor == null)
        return undefined;
    const doc = editor.document;
    const rel = vscode.workspace.asRelativePath(doc.uri, false);
    if (isExcluded(rel, settings.excludeGlobs))
        return undefined;
    const selection = editor.selection;
    const hasSelection = !selection.isEmpty;
    let text = hasSelection ? doc.getText(selection) : doc.getText();
    if (text.length > MAX_ATTACH_CHARS)
        text = `${text.slice(0, MAX_ATTACH_CHARS)}\n[... truncated]`;
    const where = hasSelection ? `${rel}, lines ${selection.start.line + 1}-${selection.end.line + 1}` : rel;
    return `${hasSelection ? "Selected code" : "Current file"} (${where}, ${doc.languageId}):\n\`\`\`${doc.languageId}\n${text}\n\`\`\``;
}
