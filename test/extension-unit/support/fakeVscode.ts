/**
 * A small stand-in for the `vscode` module, enough to load dist/extension.cjs in plain Node and drive it through
 * its commands: registrations are recorded, settings come from package.json defaults plus overrides, UI prompts
 * answer "dismissed". It is the extension's boundary only; the real VS Code runs in test/e2e (code-server).
 */
import fs from "node:fs";
import Module from "node:module";
import path from "node:path";

type Listener<T> = (value: T) => void;

class EventEmitter<T> {
    private listeners = new Set<Listener<T>>();
    public event = (listener: Listener<T>) => {
        this.listeners.add(listener);
        return {dispose: () => this.listeners.delete(listener)};
    };

    public fire(value: T): void {
        this.listeners.forEach((l) => l(value));
    }

    public dispose(): void {
        this.listeners.clear();
    }
}

class Disposable {
    public constructor(private readonly fn: () => void) {}
    public static from(...items: {dispose(): unknown}[]): Disposable {
        return new Disposable(() => items.forEach((i) => i.dispose()));
    }

    public dispose(): void {
        this.fn();
    }
}

class Uri {
    private constructor(public readonly scheme: string, public readonly path: string) {}
    public static file(p: string): Uri {
        return new Uri("file", path.resolve(p));
    }

    public static joinPath(base: Uri, ...parts: string[]): Uri {
        return new Uri(base.scheme, path.join(base.path, ...parts));
    }

    public static from(parts: {scheme: string, path: string}): Uri {
        return new Uri(parts.scheme, parts.path);
    }

    public get fsPath(): string {
        return this.path;
    }

    public toString(): string {
        return `${this.scheme}://${this.path}`;
    }
}

class Position {
    public constructor(public readonly line: number, public readonly character: number) {}
}

class Range {
    public constructor(public readonly start: Position, public readonly end: Position) {}
    public get isEmpty(): boolean {
        return this.start.line === this.end.line && this.start.character === this.end.character;
    }
}

/** A text document over a string (offsets count UTF-16 units, lines split on \n). */
export class FakeDocument {
    public readonly isClosed = false;
    public constructor(public readonly uri: Uri, public readonly languageId: string, public text: string) {}
    public getText(range?: Range): string {
        return range == null ? this.text : this.text.slice(this.offsetAt(range.start), this.offsetAt(range.end));
    }

    public offsetAt(position: Position): number {
        const lines = this.text.split("\n");
        let offset = 0;
        for (let i = 0; i < position.line; i++)
            offset += lines[i]!.length + 1;
        return offset + position.character;
    }

    public positionAt(offset: number): Position {
        const before = this.text.slice(0, offset).split("\n");
        return new Position(before.length - 1, before.at(-1)!.length);
    }
}

export interface FakeVscode {
    module: Record<string, unknown>;
    commands: Map<string, (...args: unknown[]) => unknown>;
    inlineProviders: {provideInlineCompletionItems(...args: unknown[]): Promise<{insertText: string}[]>}[];
    webviewProviders: Map<string, unknown>;
    statusItems: {text: string}[];
    settings: Map<string, unknown>;
    messages: string[];
    Uri: typeof Uri;
    Position: typeof Position;
    Range: typeof Range;
    /** Installs the fake as `require("vscode")`; returns the uninstaller. */
    install(): () => void;
}

export function createFakeVscode(options: {packageJson: string, workspaceFolder?: string, trusted?: boolean}): FakeVscode {
    const pkg = JSON.parse(fs.readFileSync(options.packageJson, "utf8")) as {contributes: {configuration: {properties: Record<string, {default?: unknown}>}}};
    const defaults = new Map(Object.entries(pkg.contributes.configuration.properties).map(([k, v]) => [k, v.default]));
    const settings = new Map<string, unknown>();
    const commands = new Map<string, (...args: unknown[]) => unknown>();
    const inlineProviders: FakeVscode["inlineProviders"] = [];
    const webviewProviders = new Map<string, unknown>();
    const statusItems: {text: string}[] = [];
    const messages: string[] = [];
    const configEmitter = new EventEmitter<{affectsConfiguration(key: string): boolean}>();
    const noop = () => new Disposable(() => undefined);
    const message = async (text: string) => {
        messages.push(text);
        return undefined;
    };

    const vscodeModule: Record<string, unknown> = {
        EventEmitter, Disposable, Uri, Position, Range,
        ThemeIcon: class {
            public constructor(public readonly id: string) {}
        },
        ThemeColor: class {
            public constructor(public readonly id: string) {}
        },
        MarkdownString: class {
            public value = "";
            public appendText(t: string) {
                this.value += t;
                return this;
            }

            public appendMarkdown(t: string) {
                this.value += t;
                return this;
            }
        },
        TreeItem: class {
            public constructor(public label: string, public collapsibleState: number) {}
        },
        InlineCompletionItem: class {
            public constructor(public insertText: string, public range: Range) {}
        },
        WorkspaceEdit: class {
            public edits: unknown[] = [];
            public replace(...args: unknown[]) {
                this.edits.push(args);
            }
        },
        TreeItemCollapsibleState: {None: 0, Collapsed: 1, Expanded: 2},
        StatusBarAlignment: {Left: 1, Right: 2},
        ProgressLocation: {SourceControl: 1, Window: 10, Notification: 15},
        ConfigurationTarget: {Global: 1, Workspace: 2, WorkspaceFolder: 3},
        TextDocumentChangeReason: {Undo: 1, Redo: 2},
        env: {clipboard: {writeText: async () => undefined}},
        window: {
            activeTextEditor: undefined,
            createOutputChannel: () => ({appendLine: (line: string) => messages.push(`[log] ${line}`), show: () => undefined, dispose: () => undefined}),
            onDidChangeActiveTextEditor: noop,
            registerWebviewViewProvider: (id: string, provider: unknown) => {
                webviewProviders.set(id, provider);
                return noop();
            },
            createTreeView: noop,
            createStatusBarItem: () => {
                const item = {text: "", show: () => undefined, dispose: () => undefined};
                statusItems.push(item);
                return item;
            },
            showErrorMessage: message,
            showWarningMessage: message,
            showInformationMessage: message,
            showInputBox: async () => undefined,
            showQuickPick: async () => undefined,
            showOpenDialog: async () => undefined,
            showSaveDialog: async () => undefined,
            setStatusBarMessage: noop,
            withProgress: async (_o: unknown, task: (progress: unknown, token: unknown) => Promise<unknown>) =>
                task({report: () => undefined}, {isCancellationRequested: false, onCancellationRequested: noop})
        },
        workspace: {
            isTrusted: options.trusted ?? true,
            workspaceFolders: options.workspaceFolder == null ? undefined : [{uri: Uri.file(options.workspaceFolder), name: "ws", index: 0}],
            getConfiguration: (section: string) => ({
                get: (key: string) => {
                    const full = `${section}.${key}`;
                    return settings.has(full) ? settings.get(full) : defaults.get(full);
                },
                // The fake's settings are the user's: there is no workspace layer.
                inspect: (key: string) => {
                    const full = `${section}.${key}`;
                    return {key: full, defaultValue: defaults.get(full), globalValue: settings.get(full)};
                },
                update: async (key: string, value: unknown) => {
                    settings.set(`${section}.${key}`, value);
                    configEmitter.fire({affectsConfiguration: (k: string) => k === `${section}.${key}` || k === section});
                }
            }),
            onDidChangeConfiguration: configEmitter.event,
            onDidChangeTextDocument: noop,
            registerTextDocumentContentProvider: noop,
            asRelativePath: (uri: Uri) => options.workspaceFolder != null ? path.relative(options.workspaceFolder, uri.fsPath) : uri.fsPath,
            getWorkspaceFolder: (uri: Uri) => options.workspaceFolder != null && !path.relative(options.workspaceFolder, uri.fsPath).startsWith("..")
                ? {uri: Uri.file(options.workspaceFolder), name: "ws", index: 0} : undefined,
            openTextDocument: async (o: {content: string}) => new FakeDocument(Uri.file("/untitled.md"), "markdown", o.content)
        },
        commands: {
            registerCommand: (id: string, fn: (...args: unknown[]) => unknown) => {
                if (commands.has(id))
                    throw new Error(`command ${id} registered twice`);
                commands.set(id, fn);
                return new Disposable(() => commands.delete(id));
            },
            executeCommand: async (id: string, ...args: unknown[]) => commands.get(id)?.(...args)
        },
        languages: {
            registerInlineCompletionItemProvider: (_selector: unknown, provider: FakeVscode["inlineProviders"][number]) => {
                inlineProviders.push(provider);
                return noop();
            }
        }
    };

    return {
        module: vscodeModule, commands, inlineProviders, webviewProviders, statusItems, settings, messages, Uri, Position, Range,
        install() {
            const loader = Module as unknown as {_load: (this: unknown, request: string, ...rest: unknown[]) => unknown};
            const original = loader._load;
            loader._load = function (request: string, ...rest: unknown[]) {
                return request === "vscode" ? vscodeModule : original.call(this, request, ...rest);
            };
            return () => {
                loader._load = original;
            };
        }
    };
}

/** A fake ExtensionContext with in-memory mementos and real folders. */
export function fakeContext(fake: FakeVscode, extensionPath: string, storage: string): Record<string, unknown> {
    const memento = () => {
        const values = new Map<string, unknown>();
        return {get: (key: string, fallback?: unknown) => values.has(key) ? values.get(key) : fallback, update: async (key: string, value: unknown) => {
            values.set(key, value);
        }, keys: () => [...values.keys()]};
    };
    return {
        subscriptions: [] as {dispose(): unknown}[],
        extensionUri: fake.Uri.file(extensionPath),
        extensionPath,
        globalStorageUri: fake.Uri.file(storage),
        workspaceState: memento(),
        globalState: memento()
    };
}

/** A webview view: what the provider sets (options, html) and the messages in both directions. */
export class FakeWebviewView {
    public readonly posted: unknown[] = [];
    private receive: ((data: unknown) => void) | undefined;
    private readonly disposeListeners: (() => void)[] = [];
    public readonly webview = {
        options: {} as {enableScripts?: boolean, localResourceRoots?: {fsPath: string}[]},
        html: "",
        cspSource: "https://fake.webview",
        asWebviewUri: (uri: {fsPath: string}) => ({toString: () => `https://fake.webview${uri.fsPath}`}),
        postMessage: async (message: unknown) => {
            this.posted.push(JSON.parse(JSON.stringify(message)));
            return true;
        },
        onDidReceiveMessage: (listener: (data: unknown) => void) => {
            this.receive = listener;
            return {dispose: () => undefined};
        }
    };

    public onDidDispose(listener: () => void): {dispose(): void} {
        this.disposeListeners.push(listener);
        return {dispose: () => undefined};
    }

    public show(): void {}

    /** A message from the page to the host. */
    public fromPage(data: unknown): void {
        this.receive?.(data);
    }

    /** Waits until a posted message satisfies `match`. */
    public async waitFor(match: (message: {type: string, payload: Record<string, unknown>}) => boolean, timeoutMs = 600_000): Promise<{type: string, payload: Record<string, unknown>}> {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
            const found = (this.posted as {type: string, payload: Record<string, unknown>}[]).find(match);
            if (found != null)
                return found;
            if (Date.now() > deadline)
                throw new Error(`no such message in ${JSON.stringify(this.posted).slice(0, 500)}`);
            await new Promise((r) => setTimeout(r, 20));
        }
    }
}
