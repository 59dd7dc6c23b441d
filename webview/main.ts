/**
 * The chat sidebar. Builds its DOM, says `ready`, and then only reacts to validated host messages: initial state
 * (`init`), streamed answers, session details, outcomes. No state is injected into the page by the host.
 * Keys: Enter sends, Shift+Enter adds a line, Escape closes the session panel (when it has focus or nothing is
 * being written) or else stops the answer being written.
 */
import type {StatusInfo, ToWebviewMessage} from "../src/shared/protocol.js";
import {byId, el, iconButton} from "./dom.js";
import {loadDraft, onHostMessage, post, saveDraft} from "./host.js";
import {MessageView} from "./messages.js";
import {SessionPanel} from "./sessionDetail.js";
import {buildWelcome} from "./welcome.js";

const sessionPanel = new SessionPanel();

function buildLayout(): void {
    const root = document.getElementById("root") ?? document.body;
    const newChat = iconButton("", "add", "New chat");
    newChat.id = "new-chat";
    const attach = el("input", {attrs: {type: "checkbox", id: "attach-selection"}});
    const attachLabel = el("label", {attrs: {for: "attach-selection"}, text: " Attach current file/selection"});
    const toolbar = el("div", {className: "toolbar", attrs: {role: "toolbar", "aria-label": "Chat"}}, [
        el("span", {className: "status", attrs: {id: "status", role: "status"}}), el("span", {className: "spacer"}), newChat
    ]);
    const messages = el("div", {attrs: {id: "messages", role: "log", "aria-live": "polite", "aria-label": "Conversation"}});
    const prompt = el("textarea", {attrs: {id: "prompt", rows: "3", placeholder: "Ask Hindsight… (Enter to send, Shift+Enter for a new line)",
        "aria-label": "Your request"}});
    const send = el("button", {text: "Send", attrs: {id: "send", type: "submit"}});
    const stop = el("button", {text: "Stop", attrs: {id: "stop", type: "button", hidden: "", "aria-label": "Stop the answer (Escape)"}});
    const form = el("form", {className: "composer", attrs: {id: "composer"}}, [
        prompt, el("div", {className: "composer-row"}, [attach, attachLabel, el("span", {className: "spacer"}), stop, send])
    ]);
    root.replaceChildren(toolbar, messages, sessionPanel.element, form);
    showWelcome();
}

/** The empty chat shows the welcome; the first message replaces it. */
function showWelcome(): void {
    byId("messages").replaceChildren(buildWelcome());
}

const views = new Map<string, MessageView>();
let streaming: string | null = null;
let requestCounter = 0;

function setStreaming(requestId: string | null): void {
    streaming = requestId;
    byId<HTMLButtonElement>("stop").hidden = requestId == null;
    byId<HTMLButtonElement>("send").disabled = requestId != null;
}

function addMessage(view: MessageView): void {
    views.set(`${view.role}:${view.id}`, view);
    const messages = byId("messages");
    messages.querySelector(".welcome")?.remove();
    messages.append(view.element);
    messages.scrollTop = messages.scrollHeight;
}

function showStatus(status: StatusInfo): void {
    const device = status.device == null || status.device === "cpu" ? "CPU" : status.device.toUpperCase();
    const text = status.state === "ready" ? `Ready on ${device}${status.model != null ? ` · ${status.model}` : ""}`
        : status.state === "loading" ? "Loading the model…"
            : status.state === "error" ? (status.error ?? "Error") : "Model loads on first request";
    const node = byId("status");
    node.textContent = text;
    node.dataset.state = status.state;
}

/**
 * Whether the attach box was toggled before the first `init` arrived: that `init` was made before the host heard of
 * the toggle (it follows `ready`, the toggle's `setAttachSelection` comes after), so it must not undo it.
 */
let attachToggledBeforeInit = false;
let initialized = false;

function handle(message: ToWebviewMessage): void {
    switch (message.type) {
        case "init": {
            views.clear();
            showWelcome();
            for (const entry of message.payload.history)
                addMessage(MessageView.fromEntry(entry));
            if (initialized || !attachToggledBeforeInit)
                byId<HTMLInputElement>("attach-selection").checked = message.payload.attachSelection;
            initialized = true;
            showStatus(message.payload.status);
            const running = message.payload.history.find((e) => e.role === "assistant" && !e.done);
            setStreaming(running?.id ?? null);
            break;
        }
        case "status":
            showStatus(message.payload);
            break;
        case "started":
            if (!views.has(`user:${message.payload.requestId}`))
                addMessage(new MessageView(message.payload.requestId, "user", message.payload.text));
            if (!views.has(`assistant:${message.payload.requestId}`))
                addMessage(new MessageView(message.payload.requestId, "assistant", ""));
            setStreaming(message.payload.requestId);
            break;
        case "stream": {
            const {requestId, chunk, done, logId, reused, error, final} = message.payload;
            let view = views.get(`assistant:${requestId}`);
            if (view == null) {
                view = new MessageView(requestId, "assistant", "");
                addMessage(view);
            }
            if (view.done)
                break;
            if (chunk !== "")
                view.append(chunk);
            if (done) {
                view.finish({final, logId, reused, error});
                if (streaming === requestId)
                    setStreaming(null);
            }
            byId("messages").scrollTop = byId("messages").scrollHeight;
            break;
        }
        case "sessionDetail":
            sessionPanel.show(message.payload);
            break;
        case "forgotten": {
            for (const view of views.values())
                view.forget(message.payload.logId);
            if (sessionPanel.logId === message.payload.logId)
                sessionPanel.close();
            break;
        }
        case "outcome":
            for (const view of views.values())
                if (view.element.dataset.logId === message.payload.logId)
                    view.setOutcome(message.payload.outcome);
            break;
        case "cleared":
            views.clear();
            showWelcome();
            sessionPanel.hide();
            setStreaming(null);
            break;
        case "attachSelection":
            byId<HTMLInputElement>("attach-selection").checked = message.payload.enabled;
            break;
    }
}

function send(): void {
    const prompt = byId<HTMLTextAreaElement>("prompt");
    const text = prompt.value.trim();
    if (text === "" || streaming != null)
        return;
    const requestId = `w${Date.now().toString(36)}-${++requestCounter}`;
    addMessage(new MessageView(requestId, "user", text));
    addMessage(new MessageView(requestId, "assistant", ""));
    setStreaming(requestId);
    prompt.value = "";
    saveDraft("");
    post("ask", {requestId, text, attachSelection: byId<HTMLInputElement>("attach-selection").checked});
}

function stop(): void {
    if (streaming != null)
        post("abort", {requestId: streaming});
}

function wire(): void {
    const prompt = byId<HTMLTextAreaElement>("prompt");
    prompt.value = loadDraft();
    byId<HTMLFormElement>("composer").addEventListener("submit", (event) => {
        event.preventDefault();
        send();
    });
    prompt.addEventListener("keydown", (event) => {
        if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
            event.preventDefault();
            send();
        }
    });
    prompt.addEventListener("input", () => saveDraft(prompt.value));
    document.addEventListener("keydown", (event) => {
        if (event.key !== "Escape")
            return;
        if (sessionPanel.isOpen && streaming == null)
            sessionPanel.close();
        else if (streaming != null)
            stop();
    });
    byId("stop").addEventListener("click", stop);
    byId("new-chat").addEventListener("click", () => post("newChat", {}));
    byId<HTMLInputElement>("attach-selection").addEventListener("change", (event) => {
        attachToggledBeforeInit ||= !initialized;
        post("setAttachSelection", {enabled: (event.target as HTMLInputElement).checked});
    });
}

buildLayout();
wire();
onHostMessage(handle);
post("ready", {});
