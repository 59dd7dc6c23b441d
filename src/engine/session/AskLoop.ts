import type {Token} from "node-llama-cpp";
import {actionComplete, extractAnswer, incompleteAnswerNote, keepWrittenCode, nextQuery, parseAction, repeatsOnlyRequest, runTool, systemPrompt} from "../agent/react.js";
import {offeredTools, type ToolHost, type ToolName} from "../agent/ToolHost.js";
import type {FileChecker} from "../agent/WorkspaceFiles.js";
import {throwIfAborted} from "../errors.js";
import type {ChatTurn, GenerateResult, Generator} from "../generation/Generator.js";
import {EPIC_RECOMPUTE_TOKENS} from "../kv/epicStack.js";
import {kvFor, sinkKv, sinkTokens, stackedCellsOf} from "../kv/logKv.js";
import type {StackedPrefix} from "../kv/StackedPrefix.js";
import type {Retriever} from "../retrieval/Retriever.js";
import type {ModelRuntime} from "../runtime/ModelRuntime.js";
import {MAX_LOG_FILES, type LogFile, type LogRecord, type LogStore} from "../store/index.js";
import {fitPrompt} from "./conversation.js";
import type {MemoryMode, ModeContext} from "./MemoryMode.js";
import {relianceOf} from "./reliance.js";
import {checkLogFiles, FileRecorder, freshnessOf, type StaleLog} from "./staleLogs.js";
import type {AskOptions, AskResult, AskTimings} from "./types.js";

/** What a request runs on: the engine's model, store, generator over its one sequence, and that sequence's prefix. */
export interface AskDeps {
    runtime: ModelRuntime;
    store: LogStore;
    generator: Generator;
    prefix: StackedPrefix;
    /** A retriever over the store (null for a mode that does not retrieve). */
    retriever(): Promise<Retriever>;
}

/** The options that shape a round's prompt (ask's, or score's). */
type PromptOptions = Pick<AskOptions, "workspace" | "k" | "editorContext" | "attachedFiles" | "query" | "answerPrefix" | "conversation" |
    "maxTokensPerRound" | "signal" | "reuseCache" | "excludeLogs" | "onEvent"> & {
    tools: readonly ToolName[];
    /** Checks the files logs name (the tool host's); null: nothing is recorded and every log counts as unchanged. */
    files: FileChecker | null;
};

/**
 * One request's rounds: retrieve (accumulating logs across rounds), fit the logs and the prompt into the context
 * (dropping the lowest-ranked logs), bring the logs in as the memory mode says (stacked KV, or text in the system
 * prompt), generate, run a tool and go again, until an answer or the last round. `HindsightEngine` runs one at a
 * time on its sequence. With a file checker, the files the request reads or is given are recorded for its log, and
 * each retrieved log's files are checked: a log whose files changed ranks after the unchanged ones of its retrieval
 * (and is reported in `staleLogs`), one whose files are all gone is not reused.
 */
export class AskLoop {
    public readonly timings: AskTimings = {retrieveMs: 0, kvLoadMs: 0, ttftMs: null, totalMs: 0, tokensPerSec: null};
    private readonly t0 = performance.now();
    private readonly used: LogRecord[] = [];
    private readonly stale = new Map<string, StaleLog>();
    /** Retrieved logs whose files are all gone: never reused, not retrieved again. */
    private readonly gone = new Set<string>();
    private readonly recorder: FileRecorder;
    private readonly history: ChatTurn[] = [];
    private readonly userText: string;
    private readonly ctx: ModeContext;
    private retriever: Retriever | null = null;
    private generatedTokens = 0;
    private generateMs = 0;
    private promptTokens = 0;

    public constructor(private readonly deps: AskDeps, private readonly mode: MemoryMode, private readonly request: string,
        private readonly o: PromptOptions) {
        this.userText = o.editorContext ? `${request}\n\n${o.editorContext}` : request;
        this.recorder = new FileRecorder(o.files, MAX_LOG_FILES);
        this.ctx = {
            request, maxTokensPerRound: o.maxTokensPerRound, signal: o.signal, generator: deps.generator,
            account: (result) => this.account(result)
        };
    }

    /** The tool names a system prompt lists for a host (none without one). */
    public static toolsOf(tools: ToolHost | readonly ToolName[] | null): readonly ToolName[] {
        return tools == null ? [] : Array.isArray(tools) ? tools as readonly ToolName[] : offeredTools(tools as ToolHost);
    }

    /** The file checker of a host (none for a list of names, or a host without one). */
    public static filesOf(tools: ToolHost | readonly ToolName[] | null): FileChecker | null {
        return tools == null || Array.isArray(tools) ? null : (tools as ToolHost).files ?? null;
    }

    /** The used logs whose files changed since their session, in `usedLogs` order. */
    public get staleLogs(): StaleLog[] {
        return this.used.flatMap((l) => this.stale.get(l.id) ?? []);
    }

    /** The files this request read or was given, for its log. */
    public get files(): LogFile[] {
        return this.recorder.files;
    }

    public get usedLogs(): string[] {
        return this.used.map((l) => l.id);
    }

    public get elapsedMs(): number {
        return performance.now() - this.t0;
    }

    private account(result: GenerateResult): void {
        this.generatedTokens += result.tokens;
        this.promptTokens += result.evaluatedPromptTokens;
    }

    /** Round 1's retrieval (with `query` when given); a mode that stacks nothing starts on a cleared sequence. */
    public async begin(): Promise<void> {
        if (this.o.reuseCache !== true)
            this.deps.prefix.reset();
        this.retriever = this.mode.retrieves ? await this.deps.retriever() : null;
        for (const file of this.o.attachedFiles ?? [])
            await this.recorder.record(file);
        throwIfAborted(this.o.signal);
        await this.retrieve(1, this.o.query != null && this.o.query.trim() !== "" ? this.o.query : this.request);
        if (this.mode.kv == null)
            await this.deps.prefix.clear();
    }

    /**
     * Adds this query's top k logs. With a file checker each log's files are checked: a log whose files are all
     * gone is passed over (the next one takes its place), and the logs with changed files follow the unchanged ones.
     */
    private async retrieve(round: number, query: string): Promise<void> {
        if (this.retriever == null)
            return;
        const t = performance.now();
        const {k, files} = this.o;
        // k spare hits for the logs that may be passed over; the top k are the same either way
        const hits = await this.retriever.retrieve(query, {k, spare: files == null ? 0 : k, workspace: this.o.workspace, minTextLead: this.mode.textLead,
            exclude: new Set([...this.usedLogs, ...this.gone, ...(this.o.excludeLogs ?? [])])});
        const fresh: LogRecord[] = [];
        const stale: LogRecord[] = [];
        for (const hit of hits) {
            if (fresh.length + stale.length === k)
                break;
            const log = await this.deps.store.getLog(hit.id);
            if (log == null)
                continue;
            const freshness = files == null ? {kind: "fresh" as const} : freshnessOf(log.id, await checkLogFiles(log, files));
            if (freshness.kind === "gone")
                this.gone.add(log.id);
            else if (freshness.kind === "stale") {
                this.stale.set(log.id, freshness.stale);
                stale.push(log);
            } else
                fresh.push(log);
        }
        const added = [...fresh, ...stale];
        this.used.push(...added);
        this.timings.retrieveMs += performance.now() - t;
        if (added.length > 0)
            this.o.onEvent?.({type: "retrieved", round, logIds: added.map((l) => l.id), stale: stale.map((l) => this.stale.get(l.id)!)});
    }

    /** The round's prompt, with the logs that fit in place (stacked or in the system prompt), and the stacked cells. */
    public async prepareRound(round: number): Promise<{prompt: Token[], prefixCells: number}> {
        const {generator, prefix} = this.deps;
        const answerPrefix = round === 1 ? this.o.answerPrefix : undefined;
        const fitted = await fitPrompt(this.o.conversation ?? [], this.used, async (conversation, logs) => {
            const notes = await this.mode.notes(logs, this.ctx);
            const turns: ChatTurn[] = [
                {role: "system", text: systemPrompt({tools: this.o.tools, notes})},
                ...conversation,
                {role: "user", text: this.userText},
                ...this.history
            ];
            const prompt = generator.renderChat(turns, answerPrefix);
            const logCells = this.stackedCells(logs);
            return {fits: logCells + prompt.length + this.o.maxTokensPerRound <= generator.sequence.contextSize, value: prompt};
        });
        const prompt: Token[] = fitted.value;
        const encoding = this.mode.kv;
        if (encoding == null)
            return {prompt, prefixCells: 0};
        // fitting keeps the best-ranked logs; `near` stacks them best last, next to the prompt
        const logs = this.mode.order === "near" ? [...fitted.logs].reverse() : fitted.logs;
        const t = performance.now();
        const {runtime, store} = this.deps;
        const restacked = await prefix.stack(logs.map((l) => l.id), async () => {
            const kvs = [];
            for (const log of logs)
                kvs.push(await kvFor(runtime, store, generator.sequence, log, encoding));
            // the shared sink goes first, once (encoded last: encoding a log clears the sequence)
            return encoding.sink && kvs.length > 0 ? [await sinkKv(runtime, generator.sequence), ...kvs] : kvs;
        }, this.mode.name, {recompute: this.mode.epic === true ? EPIC_RECOMPUTE_TOKENS : 0});
        if (restacked)
            this.timings.kvLoadMs += performance.now() - t;
        return {prompt, prefixCells: prefix.cells};
    }

    /** Cells the mode stacks for `logs` (none for a mode without KV; a sink counts once). */
    private stackedCells(logs: readonly LogRecord[]): number {
        const encoding = this.mode.kv;
        if (encoding == null || logs.length === 0)
            return 0;
        const model = this.deps.runtime.model;
        return logs.reduce((n, l) => n + stackedCellsOf(model, l, encoding), encoding.sink ? sinkTokens(model).length : 0);
    }

    /** The rounds of `ask`; `storeLog` keeps the finished task (when `log`). */
    public async run(o: AskOptions, storeLog: (responses: string[], files: LogFile[]) => Promise<{id: string}>): Promise<AskResult> {
        await this.begin();
        const responses: string[] = [];
        let answer = "";
        let round = 0;
        let askedAgain = false;
        while (round < o.maxRounds) {
            round++;
            o.onEvent?.({type: "round", round});
            throwIfAborted(o.signal);
            const {prompt, prefixCells} = await this.prepareRound(round);

            const isLast = round === o.maxRounds;
            const start = round === 1 ? o.answerPrefix ?? "" : "";
            if (start !== "")
                o.onText?.(start);
            const result = await this.deps.generator.generate(prefixCells, prompt, {
                maxTokens: o.maxTokensPerRound,
                signal: o.signal,
                onText: (text) => o.onText?.(text),
                stopWhen: isLast || o.tools == null ? undefined : (text) => actionComplete(start + text)
            });
            if (round === 1 && result.firstTokenMs != null)
                this.timings.ttftMs = this.elapsedMs - (result.generateMs - result.firstTokenMs);
            this.account(result);
            this.generateMs += result.generateMs - (result.firstTokenMs ?? 0);
            const response = (start + result.text).trim();
            responses.push(response);

            const action = o.tools != null && !isLast ? parseAction(response) : null;
            if (action == null) {
                const failed = o.verify === true && !isLast && o.tools?.verify != null ? await o.tools.verify(responses) : null;
                if (failed == null) {
                    answer = keepWrittenCode(extractAnswer(response), responses.slice(0, -1), this.request);
                    if (isLast || askedAgain || !repeatsOnlyRequest(answer, this.request))
                        break;
                    // the code is only the request's stub: the model is told so and answers once more
                    askedAgain = true;
                    o.onEvent?.({type: "incomplete", round});
                    o.onText?.("\n[the answer only repeated the given code: asked again]\n");
                    this.history.push({role: "assistant", text: response}, {role: "user", text: incompleteAnswerNote});
                    continue;
                }
                // the answer failed the host's checks: the model sees what failed and answers again
                o.onEvent?.({type: "verify", round, passed: false});
                this.history.push({role: "assistant", text: response}, {role: "user", text: `OBSERVATION (your answer was checked):\n${failed}`});
                continue;
            }
            o.onEvent?.({type: "tool", round, tool: action.tool, argument: action.argument});
            const observation = await runTool(o.tools!, action, responses);
            if (action.tool === "read_file" && !observation.startsWith("Error:"))
                await this.recorder.record(action.argument);
            o.onText?.(`\n[${action.tool} ${action.argument}]\n`);
            this.history.push({role: "assistant", text: response}, {role: "user", text: `OBSERVATION:\n${observation}`});
            await this.retrieve(round + 1, nextQuery(action, response));
        }

        const logId = o.log && responses.length > 0 ? (await storeLog(responses, this.files)).id : null;
        this.timings.totalMs = this.elapsedMs;
        this.timings.tokensPerSec = this.generateMs > 0 && this.generatedTokens > 1 ? (this.generatedTokens - 1) / (this.generateMs / 1000) : null;
        return {
            answer, rounds: round, responses, usedLogs: this.usedLogs, reliance: relianceOf(responses[responses.length - 1] ?? "", this.used), staleLogs: this.staleLogs,
            logId, timings: this.timings,
            tokens: {prompt: this.promptTokens, generated: this.generatedTokens}
        };
    }
}
