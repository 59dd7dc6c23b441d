import readline from "node:readline";
import {DirectoryToolHost, type ConversationTurn, type StaleLog} from "../../engine/index.js";
import type {ParsedArgs} from "../args.js";
import type {CliContext, CommandResult} from "../CliContext.js";
import {withEngine} from "../openEngine.js";
import {askSettings, describeReused} from "./ask.js";

interface ChatTurnResult {
    request: string;
    answer: string;
    usedLogs: string[];
    staleLogs: StaleLog[];
    logId: string | null;
}

/**
 * `hindsight chat [ask's options]`: a conversation over one loaded engine. Each line read from stdin is a request,
 * sent with the conversation's earlier exchanges; `/new` starts a new conversation; `/exit` or end of input ends.
 * Each turn is logged as `ask` logs it (unless `--no-log`). With `--json` the turns are printed as one document at
 * the end.
 */
export async function chatCommand(ctx: CliContext, args: ParsedArgs): Promise<CommandResult> {
    const settings = askSettings(args);
    return withEngine(ctx, args, async (engine) => {
        const interactive = process.stdin.isTTY === true;
        const lines = readline.createInterface({input: process.stdin, terminal: false});
        const turns: ChatTurnResult[] = [];
        let conversation: ConversationTurn[] = [];
        let conversationStart = 0;
        const prompt = () => {
            if (interactive)
                process.stderr.write("> ");
        };
        ctx.info("Hindsight chat: one request per line; /new starts a new conversation, /exit ends.");
        prompt();
        try {
            for await (const raw of lines) {
                const line = raw.trim();
                if (line === "/exit")
                    break;
                if (line === "/new") {
                    conversation = [];
                    conversationStart = turns.length;
                    ctx.info("[new conversation]");
                } else if (line !== "") {
                    const result = await engine.ask(line, {
                        ...settings,
                        conversation,
                        reuseCache: true,
                        excludeLogs: turns.slice(conversationStart).flatMap((t) => t.logId != null ? [t.logId] : []),
                        tools: new DirectoryToolHost(settings.workspace),
                        signal: ctx.signal,
                        onText: (text) => ctx.stream(text),
                        onEvent: (event) => {
                            if (event.type === "retrieved")
                                ctx.info(`\n[reusing ${event.logIds.length} past session(s): ${describeReused(event.logIds, event.stale)}]`);
                        }
                    });
                    const answer = result.answer.trim() !== "" ? result.answer : result.responses.at(-1) ?? "";
                    conversation = [...conversation, {role: "user", text: line}, {role: "assistant", text: answer}];
                    turns.push({request: line, answer: result.answer, usedLogs: result.usedLogs, staleLogs: result.staleLogs, logId: result.logId});
                    ctx.stream("\n");
                    if (result.logId != null)
                        ctx.info(`[logged as ${result.logId}]`);
                }
                prompt();
            }
        } finally {
            lines.close();
        }
        return {json: {turns}, text: `(${turns.length} turn(s))`};
    });
}
