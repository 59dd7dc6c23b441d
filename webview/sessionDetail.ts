/**
 * The past-session panel, opened from a `.reuse-chip`. In a tall view it takes the lower two thirds of the chat and
 * the messages stay visible above it; in a short one (under 560 px, e.g. with the Memory view open below) it takes
 * the whole message area until it is closed (chat.css). A header that never scrolls away (date, outcome, Forget,
 * Close, the task) sits above the session's reasoning, which scrolls in its own area. Opening moves focus into the panel; Escape or Close hides it and gives
 * focus back to the chip that opened it (or to the prompt when that chip is gone).
 */
import type {SessionDetail, SessionFile} from "../src/shared/protocol.js";
import {byId, el, iconButton} from "./dom.js";
import {post} from "./host.js";

const outcomeLabels: Record<SessionDetail["outcome"], string> = {
    "unknown": "no feedback yet",
    "accepted": "accepted",
    "rejected": "rejected",
    "tests-passed": "tests passed",
    "tests-failed": "tests failed"
};

const fileStateLabels: Record<SessionFile["state"], string> = {
    unchanged: "unchanged",
    changed: "changed since",
    deleted: "deleted since"
};

/** The files the session read, those that changed or went first; nothing for a session that read none. */
function filesSection(files: readonly SessionFile[]): HTMLElement[] {
    if (files.length === 0)
        return [];
    const order: SessionFile["state"][] = ["changed", "deleted", "unchanged"];
    const sorted = [...files].sort((a, b) => order.indexOf(a.state) - order.indexOf(b.state));
    const changed = files.filter((f) => f.state !== "unchanged").length;
    return [el("section", {className: "detail-files", attrs: {"aria-label": "Files the session read"}}, [
        el("div", {className: "files-head", text: changed > 0
            ? `Files changed since: ${changed} of ${files.length} this session read`
            : `Files this session read (${files.length}, unchanged)`}),
        el("ul", {}, sorted.map((f) => el("li", {className: `file file-${f.state}`}, [
            el("span", {className: "path", text: f.path}), el("span", {className: "state", text: ` · ${fileStateLabels[f.state]}`})
        ])))
    ])];
}

export class SessionPanel {
    public readonly element: HTMLElement;
    /** The chip that asked for the session shown (or about to be shown): focus goes back there on close. */
    private opener: HTMLElement | null = null;

    public constructor() {
        this.element = el("section", {className: "session-detail",
            attrs: {hidden: "", role: "dialog", "aria-modal": "false", "aria-labelledby": "session-detail-title", tabindex: "-1"}});
        document.addEventListener("click", (event) => {
            const chip = event.target instanceof Element ? event.target.closest<HTMLElement>(".reuse-chip") : null;
            if (chip != null)
                this.opener = chip;
        });
        this.element.addEventListener("keydown", (event) => {
            if (event.key === "Escape") {
                event.preventDefault();
                event.stopPropagation();
                this.close();
            }
        });
    }

    public get isOpen(): boolean {
        return !this.element.hidden;
    }

    public get logId(): string | undefined {
        return this.element.dataset.logId;
    }

    public show(detail: SessionDetail): void {
        const forget = el("button", {className: "forget", title: "Forget this session: delete it from Hindsight's memory",
            attrs: {type: "button", "aria-label": "Forget this session"}}, [
            el("span", {className: "codicon codicon-trash", attrs: {"aria-hidden": "true"}}), el("span", {text: "Forget"})
        ]);
        forget.addEventListener("click", () => post("forget", {logId: detail.logId}));
        const close = iconButton("close", "close", "Close (Escape)");
        close.addEventListener("click", () => this.close());
        const created = new Date(detail.createdAt);
        const outcome = `${outcomeLabels[detail.outcome]}${detail.pinned ? " · pinned" : ""}`;
        this.element.dataset.logId = detail.logId;
        const sameYear = created.getFullYear() === new Date().getFullYear();
        const date = created.toLocaleString(undefined, {year: sameYear ? undefined : "numeric", month: "short", day: "numeric",
            hour: "numeric", minute: "2-digit"});
        this.element.replaceChildren(
            el("header", {className: "detail-head"}, [
                el("div", {className: "detail-actions"}, [
                    el("span", {className: "meta", title: `Past session from ${created.toLocaleString()}, outcome: ${outcome}`}, [
                        el("span", {className: "codicon codicon-history", attrs: {"aria-hidden": "true"}}),
                        el("time", {className: "date", text: `${date} ·`, attrs: {datetime: detail.createdAt}}),
                        el("span", {className: `outcome outcome-${detail.outcome}`, text: outcome})
                    ]),
                    el("span", {className: "spacer"}), forget, close
                ]),
                el("h2", {className: "task", text: detail.task, title: detail.task, attrs: {id: "session-detail-title"}})
            ]),
            el("div", {className: "detail-body", attrs: {tabindex: "0", role: "region", "aria-label": "Reasoning of the past session"}}, [
                ...filesSection(detail.files ?? []),
                el("div", {className: "reasoning", text: detail.reasoning.trim() === "" ? "(no reasoning recorded)" : detail.reasoning})
            ])
        );
        this.element.hidden = false;
        document.body.classList.add("detail-open");
        this.opener?.scrollIntoView?.({block: "nearest"});
        this.element.focus();
    }

    /** Hides the panel; focus goes back to the chip that opened it, if it is still there, else to the prompt. */
    public close(): void {
        if (!this.isOpen)
            return;
        const hadFocus = this.element.contains(document.activeElement);
        this.hide();
        if (!hadFocus)
            return;
        if (this.opener != null && this.opener.isConnected)
            this.opener.focus();
        else
            byId("prompt").focus();
    }

    /** Hides the panel without moving focus (the chat was cleared). */
    public hide(): void {
        this.element.hidden = true;
        delete this.element.dataset.logId;
        document.body.classList.remove("detail-open");
    }
}
