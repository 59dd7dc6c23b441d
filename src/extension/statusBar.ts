import * as vscode from "vscode";
import type {StatusInfo} from "../shared/protocol.js";

/** The status bar text for a model state; it always starts with "Hindsight". */
export function statusText(status: StatusInfo): string {
    const memory = status.memorySize != null ? ` · ${status.memorySize} log${status.memorySize === 1 ? "" : "s"}` : "";
    switch (status.state) {
        case "loading":
            return "Hindsight: loading… $(loading~spin)";
        case "ready":
            return `Hindsight: ready on ${backendLabel(status.device)}${memory}`;
        case "error":
            return "Hindsight: $(warning) not ready";
        default:
            return `Hindsight${memory}`;
    }
}

/** The llama.cpp backend in use, as the status bar names it: CPU, CUDA, Vulkan or Metal. */
export function backendLabel(device: string | undefined): string {
    const labels: Record<string, string> = {cpu: "CPU", cuda: "CUDA", vulkan: "Vulkan", metal: "Metal"};
    return device == null ? "CPU" : labels[device] ?? device;
}

export function createStatusBar(onChange: (listener: (status: StatusInfo) => void) => vscode.Disposable, initial: StatusInfo): vscode.Disposable {
    const item = vscode.window.createStatusBarItem("hindsight.status", vscode.StatusBarAlignment.Right, 100);
    item.name = "Hindsight";
    item.command = "hindsight.status";
    const show = (status: StatusInfo) => {
        item.text = statusText(status);
        item.tooltip = status.state === "error" ? `Hindsight: ${status.error ?? "error"} (click for details)`
            : `Hindsight${status.model != null ? `: ${status.model}` : ""}${status.state === "ready" ? ` on ${backendLabel(status.device)}` : ""} (click for details)`;
        item.backgroundColor = status.state === "error" ? new vscode.ThemeColor("statusBarItem.warningBackground") : undefined;
    };
    show(initial);
    item.show();
    const subscription = onChange(show);
    return vscode.Disposable.from(subscription, item);
}
