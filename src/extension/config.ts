import * as vscode from "vscode";
import {settingsFrom, type HostSettings} from "./settings.js";

/**
 * Reads `hindsight.*` from VS Code (the rules are `settingsFrom`'s). `user` is a setting's value from the user's
 * own (or machine) settings, ignoring any workspace or folder value: for the settings a workspace must not
 * change, even where package.json's `machine` scope or `restrictedConfigurations` would not stop it.
 */
export function readSettings(context: vscode.ExtensionContext): HostSettings {
    const c = vscode.workspace.getConfiguration("hindsight");
    return settingsFrom({
        get: (key) => c.get(key),
        user: (key) => {
            const inspected = c.inspect(key);
            return inspected == null ? c.get(key) : inspected.globalValue ?? inspected.defaultValue;
        }
    }, {
        trusted: vscode.workspace.isTrusted,
        defaultStorageFolder: vscode.Uri.joinPath(context.globalStorageUri, "store").fsPath,
        home: process.env.HOME
    });
}

/** Settings whose change needs the model or store to be loaded again. */
export const reloadingSettings = ["hindsight.modelPath", "hindsight.embeddingModelPath", "hindsight.gpu", "hindsight.kvCacheType", "hindsight.threads", "hindsight.storageFolder"];
