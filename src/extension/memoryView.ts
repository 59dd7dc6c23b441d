import * as vscode from "vscode";
import type {LogRecord} from "../engine/index.js";
import type {EngineHost} from "./engineHost.js";
import {errorMessage} from "./engineLoader.js";

/** What `hindsight.listMemory` returns per log. */
export interface MemoryItem {
    id: string;
    task: string;
    createdAt: string;
    outcome: string;
    nTokens: number;
    pinned: boolean;
    workspace: string;
}

export function toMemoryItem(log: LogRecord): MemoryItem {
    return {id: log.id, task: log.task, createdAt: log.createdAt, outcome: log.outcome, nTokens: log.nTokens, pinned: log.pinned, workspace: log.workspace};
}

/** Keeps logs whose task, outcome, id or date contain every word of `filter` (case-insensitive). */
export function filterMemory<T extends {id: string, task: string, outcome: string, createdAt: string}>(items: readonly T[], filter: string): T[] {
    const words = filter.toLowerCase().split(/\s+/).filter((w) => w !== "");
    if (words.length === 0)
        return [...items];
    return items.filter((item) => {
        const hay = `${item.task} ${item.outcome} ${item.id} ${item.createdAt}`.toLowerCase();
        return words.every((w) => hay.includes(w));
    });
}

class LogItem extends vscode.TreeItem {
    public constructor(public readonly log: MemoryItem) {
        super(log.task.replace(/\s+/g, " ").slice(0, 80) || "(empty task)", vscode.TreeItemCollapsibleState.None);
        this.id = log.id;
        this.description = `${log.outcome} · ${log.nTokens} tok · ${log.createdAt.slice(0, 10)}`;
        this.contextValue = log.pinned ? "hindsightLog.pinned" : "hindsightLog";
        this.iconPath = new vscode.ThemeIcon(log.pinned ? "pinned" : log.outcome === "accepted" ? "thumbsup"
            : log.outcome === "rejected" ? "thumbsdown" : "history");
        this.command = {command: "hindsight.memory.open", title: "Open", arguments: [this]};
    }
}

/**
 * The Memory view (`hindsight.memory`): the logs of this workspace (all logs when memoryScope is global), newest
 * first, narrowed by a filter; each shows outcome, size and date, and its model fingerprints in the tooltip.
 * Reading the list needs only the store, never the model.
 */
export class MemoryTreeProvider implements vscode.TreeDataProvider<LogItem>, vscode.Disposable {
    private readonly changed = new vscode.EventEmitter<void>();
    public readonly onDidChangeTreeData = this.changed.event;
    private filterText = "";

    public constructor(private readonly host: EngineHost, private readonly scopeKey: () => string | null) {}

    public get filter(): string {
        return this.filterText;
    }

    public setFilter(text: string): void {
        this.filterText = text;
        this.refresh();
    }

    public refresh(): void {
        this.changed.fire();
    }

    /** The logs shown (the same list `hindsight.listMemory` returns): this workspace's, or all for the global scope. */
    public async list(): Promise<MemoryItem[]> {
        const store = await this.host.store();
        const key = this.scopeKey();
        const logs = await store.listLogs(key == null ? {} : {workspace: key});
        return logs.map(toMemoryItem);
    }

    public async getChildren(element?: LogItem): Promise<LogItem[]> {
        if (element != null)
            return [];
        try {
            return filterMemory(await this.list(), this.filterText).map((log) => new LogItem(log));
        } catch (err) {
            void vscode.window.showWarningMessage(`Hindsight memory: ${errorMessage(err)}`);
            return [];
        }
    }

    public getTreeItem(element: LogItem): vscode.TreeItem {
        return element;
    }

    public async resolveTreeItem(item: vscode.TreeItem, element: LogItem): Promise<vscode.TreeItem> {
        const log = element.log;
        const md = new vscode.MarkdownString();
        md.appendText(log.task);
        md.appendMarkdown(`\n\n**Outcome:** ${log.outcome}${log.pinned ? " (pinned)" : ""}  \n**Date:** ${new Date(log.createdAt).toLocaleString()}  \n`);
        md.appendMarkdown(`**Size:** ${log.nTokens} KV tokens  \n`);
        try {
            const kv = await (await this.host.store()).kvInfo(log.id);
            md.appendMarkdown(kv.length === 0 ? "**Model:** no KV stored yet\n"
                : kv.map((k) => `**Model fingerprint:** \`${k.fingerprint}\` (${(k.bytes / 1024).toFixed(0)} KiB)`).join("  \n"));
        } catch {
            // the tooltip stays without fingerprints
        }
        item.tooltip = md;
        return item;
    }

    public dispose(): void {
        this.changed.dispose();
    }
}
