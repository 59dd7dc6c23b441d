/** What the empty chat shows: what Hindsight does, a few example questions (a click puts one in the prompt), and how to attach code. */
import {byId, el} from "./dom.js";

const examples = [
    "What does the selected function do?",
    "Where are errors handled in this project?",
    "Write a unit test for the selected code."
];

export function buildWelcome(): HTMLElement {
    const list = el("ul", {className: "examples"});
    for (const text of examples) {
        const button = el("button", {className: "example", text, title: "Put this question in the prompt", attrs: {type: "button"}});
        button.addEventListener("click", () => {
            const prompt = byId<HTMLTextAreaElement>("prompt");
            prompt.value = text;
            prompt.dispatchEvent(new Event("input"));
            prompt.focus();
        });
        list.append(el("li", {}, [button]));
    }
    return el("div", {className: "welcome"}, [
        el("h2", {text: "Ask about this workspace"}),
        el("p", {text: "Hindsight answers with a local model and learns from past sessions of this workspace: every finished answer " +
            "is remembered and reused for related questions."}),
        el("p", {className: "welcome-label", text: "Try asking"}),
        list,
        el("p", {className: "hint", text: "To ask about code, select it and tick “Attach current file/selection” below, or " +
            "right-click it and choose “Ask about Selection”."})
    ]);
}
