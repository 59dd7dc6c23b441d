import {offeredTools, toolNames, type ToolHost, type ToolName} from "./ToolHost.js";

/**
 * The ReAct protocol the agent speaks: the model either calls one tool on a line of its own
 * (`ACTION: read_file src/a.ts`) and waits for the observation, or writes its answer. Plain text, so that small
 * local models can follow it and logs stay readable.
 */
export {toolNames, type ToolName};

const toolUsage: Record<ToolName, string> = {
    list_files: "ACTION: list_files <folder>",
    read_file: "ACTION: read_file <path>",
    search: "ACTION: search <text>",
    run_tests: "ACTION: run_tests\n(run_tests runs the code of your last ```python block, closed with ```, against the task's examples)"
};

/** The system prompt; `tools` lists the tools the model is offered (none: it answers at once). */
export function systemPrompt(options: {tools: readonly ToolName[], notes?: string}): string {
    const lines = [
        "You are Hindsight, a careful coding assistant. Answer the user's coding request correctly and concisely."
    ];
    if (options.tools.length > 0)
        lines.push(
            options.tools.includes("run_tests") && options.tools.length === 1
                ? "You may test your code first. To use a tool, write one line and stop:"
                : "You may look at the workspace first. To use a tool, write one line and stop:",
            ...options.tools.map((t) => toolUsage[t]),
            "You will get an OBSERVATION. When you know the answer, write it after \"ANSWER:\"."
        );
    else
        lines.push("Write your answer after \"ANSWER:\".");
    if (options.notes != null && options.notes !== "")
        lines.push("", "Notes from past sessions that may help:", options.notes);
    return lines.join("\n");
}

export interface ParsedAction {
    tool: ToolName;
    argument: string;
}

// small models often write the call as a code comment ("# ACTION: run_tests"); that counts too
const actionPattern = new RegExp(`^\\s*(?:#\\s*)?ACTION:\\s*(${toolNames.join("|")})\\b[ \\t]*(.*)$`, "m");

/** The first tool call in a response, if the response has no answer before it. */
export function parseAction(response: string): ParsedAction | null {
    const match = actionPattern.exec(response);
    if (match == null)
        return null;
    const answerAt = response.indexOf("ANSWER:");
    if (answerAt >= 0 && answerAt < match.index)
        return null;
    return {tool: match[1] as ToolName, argument: match[2]!.trim()};
}

/** Generation can stop once a complete ACTION line has been written. */
export function actionComplete(text: string): boolean {
    const match = actionPattern.exec(text);
    return match != null && text.indexOf("\n", match.index + match[0].length) >= 0 && !text.slice(0, match.index).includes("ANSWER:");
}

/**
 * What the next round retrieves logs with: the words of a search (the keywords the model emitted, as the paper's
 * later rounds do), otherwise the whole response.
 */
export function nextQuery(action: ParsedAction, response: string): string {
    return action.tool === "search" && action.argument !== "" ? action.argument : response;
}

/**
 * The answer in a final response: what follows "ANSWER:"; or, when the model wrote its answer first and ended on a
 * bare "ANSWER:", what comes before it (with stacked logs the 1.5B model does this often: 35 of 79 answers of the
 * default mode on EvoEval concise were otherwise empty); the whole response when there is no "ANSWER:".
 */
export function extractAnswer(response: string): string {
    const at = response.indexOf("ANSWER:");
    if (at < 0)
        return response.trim();
    const after = response.slice(at + "ANSWER:".length).trim();
    return after !== "" ? after : response.slice(0, at).trim();
}

const codeBlock = /```([\w+#.-]*)\n([\s\S]*?)(?:```|$)/g;
const actionLine = /^\s*(?:#\s*)?ACTION:/;

/** The lines of a code block that say something: trimmed, not blank, not a tool call written into the code. */
function codeLines(code: string): string[] {
    return code.split("\n").map((l) => l.trim()).filter((l) => l !== "" && !actionLine.test(l));
}

/**
 * The final answer with the code the model wrote: when the answer's last code block only repeats code the request
 * gave (every line of it is in the request: the signature and docstring of a function to write), and an earlier
 * response of the same request has a code block that goes beyond the request, that block (the latest, without tool
 * calls) takes its place. With stacked logs the 1.5B model sometimes tests its code with run_tests and then
 * answers with the bare stub (EvoEval concise, 100 tasks: 2 answers of the default mode, 3 of `kv`'s, whose first
 * round had the code). Any other answer is returned as it is.
 */
export function keepWrittenCode(answer: string, earlier: readonly string[], request: string): string {
    const last = lastCodeBlock(answer);
    if (last == null)
        return answer;
    const adds = addsTo(request);
    if (adds(last[2]!))
        return answer;
    for (const response of [...earlier].reverse()) {
        const written = [...response.matchAll(codeBlock)].map((m) => m[2]!).reverse().find(adds);
        if (written != null) {
            const code = written.split("\n").filter((l) => !actionLine.test(l)).join("\n").trimEnd();
            return answer.slice(0, last.index) + "```" + last[1] + "\n" + code + "\n```" + answer.slice(last.index + last[0].length);
        }
    }
    return answer;
}

/**
 * Whether an answer's code is only what the request gave: its last code block has no line that is not in the request
 * (a function's signature and docstring without a body). Such an answer is never the code a task asks for; with
 * stacked logs the 1.5B model gave one for 1 to 5 of 100 EvoEval concise tasks per KV mode even after
 * `keepWrittenCode` (none for `none` or `text-last`). An answer without code is not one.
 */
export function repeatsOnlyRequest(answer: string, request: string): boolean {
    const last = lastCodeBlock(answer);
    return last != null && !addsTo(request)(last[2]!);
}

/** What the model is told when its answer only repeats the request's code (`repeatsOnlyRequest`); it answers again once. */
export const incompleteAnswerNote = "OBSERVATION: your answer's code only repeats the code the request gave (the signature and " +
    "docstring) and adds nothing to it. Write the code the task asks for, then give it after ANSWER:.";

function lastCodeBlock(text: string): RegExpExecArray | undefined {
    const blocks = [...text.matchAll(codeBlock)];
    return blocks[blocks.length - 1];
}

/** Whether a code block has a line that says something and is not a line of the request. */
function addsTo(request: string): (code: string) => boolean {
    const given = new Set(request.split("\n").map((l) => l.trim()));
    return (code) => codeLines(code).some((l) => !given.has(l));
}

/** Runs one tool call. `responses`: the model's responses so far, latest last (run_tests takes its code from them). */
export async function runTool(host: ToolHost, action: ParsedAction, responses: readonly string[]): Promise<string> {
    const offered = offeredTools(host);
    if (!offered.includes(action.tool))
        return `Error: the tool ${action.tool} is not available here. Use ${offered.join(", ")}, or write ANSWER:.`;
    switch (action.tool) {
        case "list_files": return host.listFiles(action.argument || ".");
        case "read_file": return host.readFile(action.argument);
        case "search": return host.search(action.argument);
        case "run_tests": return host.runTests!(responses);
    }
}
