/**
 * One chat message in the DOM: `.message.user` / `.message.assistant` with rendered markdown, code-block actions
 * (copy / insert / apply), the "reused N past sessions" chips and thumbs. State lives in the DOM's data attributes
 * (`data-done`, `data-log-id`), which is also what the UI tests read.
 */
import type {ChatEntry, ReusedLog} from "../src/shared/protocol.js";
import {el, iconButton} from "./dom.js";
import {post} from "./host.js";
import {codeBlocksOf, renderMarkdown} from "./markdown.js";

export class MessageView {
    public readonly element: HTMLElement;
    private readonly content: HTMLElement;
    private readonly footer: HTMLElement;
    private text: string;
    private logId: string | null = null;

    public constructor(public readonly id: string, public readonly role: "user" | "assistant", text: string) {
        this.text = text;
        this.content = el("div", {className: "content"});
        this.footer = el("div", {className: "footer"});
        this.element = el("div", {
            className: `message ${role}`,
            attrs: {"data-request-id": id, role: "article", "aria-label": role === "user" ? "Your message" : "Hindsight's answer"}
        }, [this.content, this.footer]);
        this.render();
    }

    public static fromEntry(entry: ChatEntry): MessageView {
        const view = new MessageView(entry.id, entry.role, entry.text);
        if (entry.role === "assistant")
            view.finish({logId: entry.logId, reused: entry.reused, error: entry.error, outcome: entry.outcome});
        return view;
    }

    public append(chunk: string): void {
        this.text += chunk;
        this.render();
    }

    public get done(): boolean {
        return this.element.dataset.done === "true";
    }

    private render(): void {
        if (this.role === "user") {
            this.content.textContent = this.text;
            return;
        }
        this.content.innerHTML = renderMarkdown(this.text);
        const blocks = codeBlocksOf(this.text);
        this.content.querySelectorAll<HTMLElement>(".code-block").forEach((block, i) => {
            const code = blocks[i] ?? block.textContent ?? "";
            const bar = el("div", {className: "code-actions", attrs: {role: "toolbar", "aria-label": "Code actions"}});
            const copy = iconButton("copy", "copy", "Copy code");
            const insert = iconButton("insert", "insert", "Insert at cursor");
            const apply = iconButton("apply", "diff", "Apply to file (review the diff first)");
            copy.addEventListener("click", () => post("copy", {code}));
            insert.addEventListener("click", () => post("insert", {code, logId: this.logId}));
            apply.addEventListener("click", () => post("apply", {code, logId: this.logId}));
            bar.append(copy, insert, apply);
            block.prepend(bar);
        });
    }

    /** Ends the answer: final text, error, log id, chips and thumbs. */
    public finish(end: {final?: string, logId?: string | null, reused?: ReusedLog[], error?: string, outcome?: string}): void {
        if (end.final != null && end.final !== "") {
            this.text = end.final;
            this.render();
        }
        this.element.dataset.done = "true";
        this.footer.replaceChildren();
        if (end.error != null) {
            this.element.classList.add("error");
            this.footer.append(el("div", {className: "error-text", text: end.error, attrs: {role: "alert"}}));
        }
        if (end.reused != null && end.reused.length > 0) {
            const n = end.reused.length;
            const chips = el("div", {className: "reuse", attrs: {role: "group", "aria-label": `Reused ${n} past session${n === 1 ? "" : "s"}`}});
            chips.append(el("span", {className: "reuse-label", text: `reused ${n} past session${n === 1 ? "" : "s"}`}));
            const leaned = leanedOn(end.reused);
            for (const log of end.reused) {
                const stale = log.stale != null && log.stale.changed.length + log.stale.deleted.length > 0 ? log.stale : undefined;
                const staleList = stale == null ? "" : [...stale.changed, ...stale.deleted.map((f) => `${f} (deleted)`)].join(", ");
                const task = shorten(log.task, stale != null ? 28 : 40);
                const chip = el("button", {className: stale != null ? "reuse-chip stale" : "reuse-chip", text: stale != null ? undefined : task,
                    title: stale != null ? `${log.task}\nFiles changed since: ${staleList}` : log.task,
                    attrs: {"data-log-id": log.logId, type: "button",
                        "aria-label": `Open past session: ${log.task}${stale != null ? ` (files changed since: ${staleList})` : ""}`}});
                // the task shrinks (ellipsis) before the note does
                if (stale != null)
                    chip.append(el("span", {className: "chip-task", text: task}), el("span", {className: "stale-note", text: "files changed since"}));
                if (log === leaned) {
                    // the session the answer leaned on most: the share of the answer's lines it already held
                    const pct = Math.round((log.reliance ?? 0) * 100);
                    chip.classList.add("leaned");
                    chip.title += `\nLeaned on most: ${pct} % of this answer's lines are in this session`;
                    chip.setAttribute("aria-label", `${chip.getAttribute("aria-label") ?? ""} (leaned on most: ${pct} % of the answer's lines)`);
                    chip.append(el("span", {className: "leaned-note", text: `${pct} % same lines`}));
                }
                chip.addEventListener("click", () => post("openSession", {logId: log.logId}));
                chips.append(chip);
            }
            this.footer.append(chips);
        }
        if (end.logId != null) {
            this.logId = end.logId;
            this.element.dataset.logId = end.logId;
            const up = iconButton("thumb-up", "thumbsup", "Good answer (reuse it)");
            const down = iconButton("thumb-down", "thumbsdown", "Bad answer (never reuse it)");
            const logId = end.logId;
            up.addEventListener("click", () => post("mark", {logId, outcome: "accepted"}));
            down.addEventListener("click", () => post("mark", {logId, outcome: "rejected"}));
            this.footer.append(el("div", {className: "thumbs"}, [up, down]));
            if (end.outcome != null)
                this.setOutcome(end.outcome);
        }
    }

    public setOutcome(outcome: string): void {
        this.element.dataset.outcome = outcome;
        this.element.querySelector(".thumb-up")?.setAttribute("aria-pressed", String(outcome === "accepted"));
        this.element.querySelector(".thumb-down")?.setAttribute("aria-pressed", String(outcome === "rejected"));
    }

    /** The session was forgotten: its chips go, and this answer's own log id if it was that session. */
    public forget(logId: string): void {
        this.element.querySelectorAll<HTMLElement>(".reuse-chip").forEach((chip) => {
            if (chip.dataset.logId === logId)
                chip.remove();
        });
        const group = this.element.querySelector(".reuse");
        if (group != null && group.querySelector(".reuse-chip") == null)
            group.remove();
        if (this.logId === logId) {
            this.logId = null;
            delete this.element.dataset.logId;
            this.element.querySelector(".thumbs")?.remove();
        }
    }
}

export function shorten(text: string, max: number): string {
    const line = text.replace(/\s+/g, " ").trim();
    return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** Lines an answer must share with a session (as a share of its lines) before its chip says the answer leaned on it. */
export const LEANED_MIN_SHARE = 0.2;

/** The reused session with the largest reliance, if it reaches `LEANED_MIN_SHARE` (the first of equals). */
export function leanedOn(reused: readonly ReusedLog[]): ReusedLog | undefined {
    let best: ReusedLog | undefined;
    for (const log of reused)
        if ((log.reliance ?? 0) >= LEANED_MIN_SHARE && (best == null || (log.reliance ?? 0) > (best.reliance ?? 0)))
            best = log;
    return best;
}
