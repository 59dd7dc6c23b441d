/** The webview's side of the protocol: outgoing messages typed, incoming ones validated before use. */
import {parseToWebview, toHost, type ToHostPayloads, type ToWebviewMessage} from "../src/shared/protocol.js";

interface VsCodeApi {
    postMessage(message: unknown): void;
    getState(): unknown;
    setState(state: unknown): void;
}

declare function acquireVsCodeApi(): VsCodeApi;

const api = acquireVsCodeApi();

export function post<K extends keyof ToHostPayloads>(type: K, payload: ToHostPayloads[K]): void {
    api.postMessage(toHost(type, payload));
}

/** Calls `handler` with each valid host message; anything else is dropped (and counted, for tests and debugging). */
export function onHostMessage(handler: (message: ToWebviewMessage) => void): void {
    window.addEventListener("message", (event: MessageEvent<unknown>) => {
        const message = parseToWebview(event.data);
        if (message == null) {
            document.body.dataset.ignoredMessages = String(Number(document.body.dataset.ignoredMessages ?? "0") + 1);
            return;
        }
        handler(message);
    });
}

export function saveDraft(draft: string): void {
    api.setState({draft});
}

export function loadDraft(): string {
    const state = api.getState();
    if (typeof state === "object" && state !== null && "draft" in state && typeof state.draft === "string")
        return state.draft;
    return "";
}
