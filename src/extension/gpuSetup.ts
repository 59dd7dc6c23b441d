import path from "node:path";
import * as vscode from "vscode";
import type {GpuBackend, GpuChoice} from "../engine/index.js";
import {GpuBinaries, readGpuPackageTable, type GpuProgress} from "./gpuBinaries.js";

const backendNames: Record<GpuBackend, string> = {cuda: "CUDA", vulkan: "Vulkan", metal: "Metal"};

/**
 * The `prepareGpu` hook of EngineHost in VS Code: GpuBinaries over the table the build wrote (dist/gpu-packages.json),
 * keeping downloads in globalStorage, with a cancellable progress notification while a package downloads.
 */
export function gpuPreparer(context: vscode.ExtensionContext, log: (line: string) => void): (setting: GpuChoice, supported: readonly GpuBackend[]) => Promise<void> {
    const binaries = new GpuBinaries({
        extensionPath: context.extensionPath,
        storageDir: path.join(context.globalStorageUri.fsPath, "gpu"),
        table: readGpuPackageTable(path.join(context.extensionPath, "dist", "gpu-packages.json")),
        log
    });
    const progress: GpuProgress = {
        run: async (pkg, task) => await vscode.window.withProgress({
            location: vscode.ProgressLocation.Notification,
            title: `Hindsight: downloading llama.cpp for ${backendNames[pkg.backend]} (${pkg.name}@${pkg.version}, once)`,
            cancellable: true
        }, async (report, token) => {
            const abort = new AbortController();
            const subscription = token.onCancellationRequested(() => abort.abort());
            let shown = 0;
            try {
                return await task((bytes, total) => {
                    if (total == null)
                        return report.report({message: mib(bytes)});
                    const percent = Math.floor(100 * bytes / total);
                    if (percent > shown) {
                        report.report({increment: percent - shown, message: `${mib(bytes)} of ${mib(total)}`});
                        shown = percent;
                    }
                }, abort.signal);
            } finally {
                subscription.dispose();
            }
        })
    };
    return async (setting, supported) => {
        const result = await binaries.prepare(setting, supported, progress);
        if (result.downloaded && result.backend != null)
            void vscode.window.showInformationMessage(`Hindsight: llama.cpp for ${backendNames[result.backend]} is installed; the model loads on the GPU.`);
        else if (result.problem != null)
            void vscode.window.showWarningMessage(`Hindsight runs on the CPU: ${result.problem}. It tries again on the next start; set hindsight.gpu to "cpu" to stop.`);
    };
}

function mib(bytes: number): string {
    return `${(bytes / 2 ** 20).toFixed(bytes < 10 * 2 ** 20 ? 1 : 0)} MiB`;
}
