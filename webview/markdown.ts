/**
 * Markdown for answers: `marked` with raw HTML escaped (model output is never trusted markup) and code blocks
 * highlighted by highlight.js (a set of common languages, so the bundle stays small). Colours come from
 * VS Code's theme variables in chat.css.
 */
import {Marked, type Tokens} from "marked";
import hljs from "highlight.js/lib/core";
import bash from "highlight.js/lib/languages/bash";
import c from "highlight.js/lib/languages/c";
import cpp from "highlight.js/lib/languages/cpp";
import csharp from "highlight.js/lib/languages/csharp";
import css from "highlight.js/lib/languages/css";
import go from "highlight.js/lib/languages/go";
import java from "highlight.js/lib/languages/java";
import javascript from "highlight.js/lib/languages/javascript";
import json from "highlight.js/lib/languages/json";
import markdown from "highlight.js/lib/languages/markdown";
import python from "highlight.js/lib/languages/python";
import rust from "highlight.js/lib/languages/rust";
import sql from "highlight.js/lib/languages/sql";
import typescript from "highlight.js/lib/languages/typescript";
import xml from "highlight.js/lib/languages/xml";
import yaml from "highlight.js/lib/languages/yaml";

const languages = {bash, c, cpp, csharp, css, go, java, javascript, json, markdown, python, rust, sql, typescript, xml, yaml};
for (const [name, language] of Object.entries(languages))
    hljs.registerLanguage(name, language);

export function escapeHtml(text: string): string {
    return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;");
}

function highlight(code: string, lang: string | undefined): string {
    const name = (lang ?? "").trim().split(/\s+/)[0]!.toLowerCase();
    try {
        if (name !== "" && hljs.getLanguage(name) != null)
            return hljs.highlight(code, {language: name, ignoreIllegals: true}).value;
        if (code.length < 20_000)
            return hljs.highlightAuto(code).value;
    } catch {
        // fall through to plain text
    }
    return escapeHtml(code);
}

const marked = new Marked({
    gfm: true,
    breaks: false,
    renderer: {
        html({text}: Tokens.HTML | Tokens.Tag): string {
            return escapeHtml(text);
        },
        code({text, lang}: Tokens.Code): string {
            const language = (lang ?? "").trim().split(/\s+/)[0] ?? "";
            const langAttr = language === "" ? "" : ` data-lang="${escapeHtml(language)}"`;
            return `<div class="code-block"${langAttr}><pre><code class="hljs">${highlight(text, lang)}</code></pre></div>`;
        },
        link({href, text}: Tokens.Link): string {
            const safe = /^(https?:|mailto:)/i.test(href) ? escapeHtml(href) : "";
            return safe === "" ? escapeHtml(text) : `<a href="${safe}" title="${safe}">${escapeHtml(text)}</a>`;
        },
        image({text}: Tokens.Image): string {
            return escapeHtml(text);
        }
    }
});

/** HTML for a (possibly unfinished) markdown answer. An open code fence renders as a code block so far. */
export function renderMarkdown(text: string): string {
    const result = marked.parse(text, {async: false});
    return typeof result === "string" ? result : "";
}

/** The raw code of each fenced block in `text`, in order (what copy / insert / apply act on). */
export function codeBlocksOf(text: string): string[] {
    const blocks: string[] = [];
    void marked.walkTokens(marked.lexer(text), (token) => {
        if (token.type === "code")
            blocks.push((token as Tokens.Code).text);
    });
    return blocks;
}
