import path from "node:path";
import type {LlamaContext, Token} from "node-llama-cpp";
import {actionComplete, extractAnswer, nextQuery, parseAction, runTool, systemPrompt} from "./agent/react.js";
import {offeredTools, type ToolHost} from "./agent/ToolHost.js";
import {HindsightError, ModelError, throwIfAborted} from "./errors.js";
import {Generator, type ChatTurn} from "./generation/Generator.js";
import {encodeLogKv, loadStackedLogs, type StoredKv} from "./kv/KvLogCodec.js";
import {redactSecrets} from "./redact.js";
import {Embedder, Retriever} from "./retrieval/Retriever.js";
import {readGgufHeader} from "./models/ggufHeader.js";
import {fileSha256} from "./runtime/fileHash.js";
import type {ModelRuntime} from "./runtime/ModelRuntime.js";
import type {LogRecord, LogStore} from "./store/index.js";

/**
 * How past sessions reach the model: not at all; as text (last response, whole trace, or `reflection`: notes an
 * extra model call distils from the logs, as Dynamic Cheatsheet); as stacked KV of the last response encoded with
 * its whole log before it (`kv`, LAG) or encoded alone, without its earlier context (`kv-alone`, the paper's
 * Block-Attention-style baseline).
 */
export type AskMode = "none" | "text-last" | "text-all" | "reflection" | "kv-alone" | "kv";
export const askModes: readonly AskMode[] = ["none", "text-last", "text-all", "reflection", "kv-alone", "kv"];

/** Modes whose logs reach the model as stacked KV. */
function isKvMode(mode: AskMode): mode is "kv" | "kv-alone" {
    return mode === "kv" || mode === "kv-alone";
}

/** Fingerprint suffix under which a log's last response encoded alone is stored (never mixed with `kv` blobs). */
export const KV_ALONE_SUFFIX = "#alone";

export interface AskOptions {
    /** Workspace the request belongs to; logs are searched and stored under it. */
    workspace: string;
    /** Defaults to `"kv"`. */
    mode: AskMode;
    /** Logs retrieved per query. Defaults to 3. */
    k: number;
    /** Rounds of think/act/observe. Defaults to 4. */
    maxRounds: number;
    /** Tokens the model may write per round. Defaults to 384. */
    maxTokensPerRound: number;
    /** Store this task as a new log when it ends. Defaults to `true`. */
    log: boolean;
    /** Tools over the workspace; null gives the model none. */
    tools: ToolHost | null;
    /** Editor context (file, selection) appended to the request. */
    editorContext?: string;
    /**
     * The text the first round retrieves logs with. Defaults to the request. A host whose request wraps the user's
     * words in fixed instructions passes the words alone, so that the instructions do not decide what is retrieved.
     */
    query?: string;
    signal?: AbortSignal;
    onText?(text: string): void;
    onEvent?(event: AskEvent): void;
}

export type AskEvent =
    | {type: "retrieved", round: number, logIds: string[]}
    | {type: "round", round: number}
    | {type: "tool", round: number, tool: string, argument: string};

export interface AskTimings {
    retrieveMs: number;
    kvLoadMs: number;
    ttftMs: number | null;
    totalMs: number;
    tokensPerSec: number | null;
}

export interface AskResult {
    answer: string;
    rounds: number;
    responses: string[];
    /** Provenance: the past sessions this answer reused, in retrieval order. */
    usedLogs: string[];
    logId: string | null;
    timings: AskTimings;
    tokens: {prompt: number, generated: number};
}

const reflectionPrompt = "You study past sessions of an assistant and write short, general notes (at most 8 bullet " +
    "points: useful facts, approaches, pitfalls) that help solve the new task. Do not solve the new task.";

const defaults = {mode: "kv" as AskMode, k: 3, maxRounds: 4, maxTokensPerRound: 384, log: true};

/** The log text of a finished task: the model's responses only, each followed by a blank line (as the paper). */
export function logTextOf(responses: readonly string[]): {text: string, last: string} {
    const cleaned = responses.map((r) => r.trim());
    return {text: cleaned.map((r) => r + "\n\n").join(""), last: cleaned[cleaned.length - 1] ?? ""};
}

export interface HindsightEngineOptions {
    /**
     * A GGUF model used only for retrieval embeddings (for example a dedicated embedding model). Defaults to none:
     * the loaded chat model's own embedding context. Vectors of different embedding models are never compared.
     */
    embeddingModelPath: string;
}

/** Checks that the embedding model is a GGUF file (its header, as `model pull` does) and hashes it (cached), before anything loads. */
async function checkEmbeddingModel(modelPath: string): Promise<{path: string, sha256: string}> {
    const absolute = path.resolve(modelPath);
    try {
        await readGgufHeader(absolute);
    } catch (err) {
        if (err instanceof ModelError)
            throw new ModelError(err.code === "MODEL_NOT_FOUND" ? "MODEL_NOT_FOUND" : "MODEL_INVALID",
                `The embedding model is unusable: ${err.message} Give a .gguf embedding model, or leave the embedding model unset.`, {cause: err});
        throw err;
    }
    return {path: absolute, sha256: await fileSha256(absolute)};
}

/**
 * The engine: owns one generation context over a loaded model, the log store and retrieval. Hosts (CLI, VS Code)
 * call `ask`; everything else (prompting, retrieval per round, KV stacking, logging) happens here.
 */
export class HindsightEngine {
    private readonly generator: Generator;
    private embedder: Embedder | null = null;
    private queue: Promise<unknown> = Promise.resolve();

    private constructor(public readonly runtime: ModelRuntime, public readonly store: LogStore, private readonly context: LlamaContext,
        private readonly embeddingModel: {path: string, sha256: string} | null) {
        this.generator = new Generator(runtime, context.getSequence());
    }

    public static async create(runtime: ModelRuntime, store: LogStore, options: Partial<HindsightEngineOptions> = {}): Promise<HindsightEngine> {
        const embeddingModel = options.embeddingModelPath ? await checkEmbeddingModel(options.embeddingModelPath) : null;
        const context = await runtime.createContext({sequences: 1});
        return new HindsightEngine(runtime, store, context, embeddingModel);
    }

    /** One request at a time on the shared sequence. */
    private exclusive<T>(job: () => Promise<T>): Promise<T> {
        const next = this.queue.then(job, job);
        this.queue = next.catch(() => undefined);
        return next;
    }

    /** The embedding space of this engine's vectors: the embedding model's file hash (the loaded model's by default). */
    public get embeddingSpace(): string {
        return `emb-${(this.embeddingModel?.sha256 ?? this.runtime.fingerprint.parts.modelSha256).slice(0, 16)}`;
    }

    public async getEmbedder(): Promise<Embedder> {
        if (this.embedder == null) {
            const threads = this.runtime.options.threads;
            if (this.embeddingModel == null) {
                const context = await this.runtime.model.createEmbeddingContext({contextSize: 512, threads});
                this.embedder = new Embedder(context, this.embeddingSpace, 500);
            } else {
                const model = await this.runtime.llama.loadModel({modelPath: this.embeddingModel.path, gpuLayers: this.runtime.device === "cpu" ? 0 : "auto"})
                    .catch((err: unknown) => {
                        throw new ModelError("MODEL_LOAD_FAILED", `The embedding model ${this.embeddingModel!.path} could not be loaded. ` +
                            "Check the file, or leave the embedding model unset to use the chat model's own embeddings.", {cause: err});
                    });
                const context = await model.createEmbeddingContext({contextSize: Math.min(512, model.trainContextSize), threads});
                this.embedder = new Embedder(context, this.embeddingSpace, Math.min(500, model.trainContextSize - 8), model);
            }
        }
        return this.embedder;
    }

    public ask(request: string, options: Partial<AskOptions> & {workspace: string}): Promise<AskResult> {
        if (request.trim() === "")
            return Promise.reject(new HindsightError("INVALID_ARGUMENT", "The request is empty. Say what you want done."));
        return this.exclusive(() => this.askNow(request, {...defaults, tools: null, ...options}));
    }

    private async askNow(request: string, o: AskOptions): Promise<AskResult> {
        const t0 = performance.now();
        const timings: AskTimings = {retrieveMs: 0, kvLoadMs: 0, ttftMs: null, totalMs: 0, tokensPerSec: null};
        const sequence = this.generator.sequence;
        const retriever = o.mode === "none" ? null : new Retriever(this.store, await this.getEmbedder());
        const used: LogRecord[] = [];
        let prefixCells = 0;
        let loadedKey = "\u0000"; // nothing stacked yet: the first stack() always resets the sequence

        const retrieve = async (round: number, query: string) => {
            if (retriever == null)
                return;
            const t = performance.now();
            const hits = await retriever.retrieve(query, {k: o.k, workspace: o.workspace, exclude: new Set(used.map((l) => l.id))});
            for (const hit of hits) {
                const log = await this.store.getLog(hit.id);
                if (log != null)
                    used.push(log);
            }
            timings.retrieveMs += performance.now() - t;
            if (hits.length > 0)
                o.onEvent?.({type: "retrieved", round, logIds: hits.map((h) => h.id)});
        };

        /** Makes the sequence start with the KV of `logs` (kv mode), re-stacking only when the set changed. */
        const stack = async (logs: readonly LogRecord[]) => {
            const key = logs.map((l) => l.id).join(",");
            if (key === loadedKey && (logs.length === 0 || prefixCells > 0))
                return;
            const t = performance.now();
            const kvs: StoredKv[] = [];
            for (const log of logs)
                kvs.push(await this.kvFor(log, o.mode === "kv-alone"));
            if (kvs.length === 0) {
                await sequence.clearHistory();
                prefixCells = 0;
            } else
                prefixCells = (await loadStackedLogs(this.runtime, sequence, kvs)).nCells;
            loadedKey = key;
            timings.kvLoadMs += performance.now() - t;
        };

        let generatedTokens = 0, generateMs = 0, promptTokens = 0;
        const pastText = (logs: readonly LogRecord[], whole: boolean) =>
            logs.map((l, i) => `[${i + 1}] Past task: ${l.task}\n${whole ? l.logText.trim() : l.lastResponse}`).join("\n\n");
        let reflected = {key: "", notes: ""};
        /** Reflection mode: one extra model call distils the retrieved logs into notes (recomputed when they change). */
        const reflect = async (logs: readonly LogRecord[]) => {
            const key = logs.map((l) => l.id).join(",");
            if (logs.length === 0 || key === reflected.key)
                return;
            const distilled = await this.generator.generate(0, this.generator.renderChat([
                {role: "system", text: reflectionPrompt},
                {role: "user", text: `New task:\n${request}\n\nPast sessions:\n${pastText(logs, true)}`}
            ]), {maxTokens: o.maxTokensPerRound, signal: o.signal});
            generatedTokens += distilled.tokens;
            promptTokens += distilled.evaluatedPromptTokens;
            reflected = {key, notes: distilled.text.trim()};
        };
        const notes = (logs: readonly LogRecord[]) => o.mode === "text-last" || o.mode === "text-all"
            ? pastText(logs, o.mode === "text-all")
            : o.mode === "reflection" ? reflected.notes : "";

        throwIfAborted(o.signal);
        await retrieve(1, o.query != null && o.query.trim() !== "" ? o.query : request);
        if (!isKvMode(o.mode)) {
            await sequence.clearHistory();
            loadedKey = "";
        }

        const userText = o.editorContext ? `${request}\n\n${o.editorContext}` : request;
        const history: ChatTurn[] = [];
        const responses: string[] = [];
        let answer = "";
        let round = 0;

        while (round < o.maxRounds) {
            round++;
            o.onEvent?.({type: "round", round});
            throwIfAborted(o.signal);

            // fit: drop the lowest-ranked logs while the prompt does not fit the context
            let logs = [...used];
            let prompt: Token[];
            for (;;) {
                if (o.mode === "reflection")
                    await reflect(logs);
                const turns: ChatTurn[] = [
                    {role: "system", text: systemPrompt({tools: o.tools == null ? [] : offeredTools(o.tools), notes: notes(logs)})},
                    {role: "user", text: userText},
                    ...history
                ];
                prompt = this.generator.renderChat(turns);
                const logCells = isKvMode(o.mode) ? logs.reduce((n, l) => n + l.nTokens, 0) : 0;
                if (logCells + prompt.length + o.maxTokensPerRound <= sequence.contextSize || logs.length === 0)
                    break;
                logs = logs.slice(0, -1);
            }
            if (isKvMode(o.mode))
                await stack(logs);
            else
                prefixCells = 0;

            const isLast = round === o.maxRounds;
            const result = await this.generator.generate(prefixCells, prompt, {
                maxTokens: o.maxTokensPerRound,
                signal: o.signal,
                onText: (text) => o.onText?.(text),
                stopWhen: isLast || o.tools == null ? undefined : actionComplete
            });
            if (round === 1 && result.firstTokenMs != null)
                timings.ttftMs = performance.now() - t0 - (result.generateMs - result.firstTokenMs);
            generatedTokens += result.tokens;
            generateMs += result.generateMs - (result.firstTokenMs ?? 0);
            promptTokens += result.evaluatedPromptTokens;
            const response = result.text.trim();
            responses.push(response);

            const action = o.tools != null && !isLast ? parseAction(response) : null;
            if (action == null) {
                answer = extractAnswer(response);
                break;
            }
            o.onEvent?.({type: "tool", round, tool: action.tool, argument: action.argument});
            const observation = await runTool(o.tools!, action, responses);
            o.onText?.(`\n[${action.tool} ${action.argument}]\n`);
            history.push({role: "assistant", text: response}, {role: "user", text: `OBSERVATION:\n${observation}`});
            await retrieve(round + 1, nextQuery(action, response));
        }

        let logId: string | null = null;
        if (o.log && responses.length > 0)
            logId = (await this.storeLog({task: request, workspace: o.workspace, responses}, o.signal)).id;

        timings.totalMs = performance.now() - t0;
        timings.tokensPerSec = generateMs > 0 && generatedTokens > 1 ? (generatedTokens - 1) / (generateMs / 1000) : null;
        return {answer, rounds: round, responses, usedLogs: used.map((l) => l.id), logId, timings, tokens: {prompt: promptTokens, generated: generatedTokens}};
    }

    /** Tokens of a log and where its last response starts; the earliest tokens are dropped if it cannot fit. */
    private logTokens(logText: string, lastResponse: string): {tokens: Token[], keepFrom: number} {
        const model = this.runtime.model;
        const lastText = lastResponse + "\n\n";
        const prefixText = logText.endsWith(lastText) ? logText.slice(0, logText.length - lastText.length) : "";
        let prefix = prefixText === "" ? [] : model.tokenize(prefixText);
        let last = model.tokenize(lastText);
        const budget = this.generator.sequence.contextSize - 8;
        if (last.length > budget / 2)
            last = last.slice(last.length - Math.floor(budget / 2));
        if (prefix.length + last.length > budget)
            prefix = prefix.slice(prefix.length + last.length - budget);
        return {tokens: [...prefix, ...last], keepFrom: prefix.length};
    }

    /** `alone`: the last response is encoded without the log before it (its cells attend only to each other). */
    private async encode(logText: string, lastResponse: string, signal?: AbortSignal, alone = false) {
        const {tokens, keepFrom} = this.logTokens(logText, lastResponse);
        return alone
            ? encodeLogKv(this.runtime, this.generator.sequence, tokens.slice(keepFrom), 0, signal)
            : encodeLogKv(this.runtime, this.generator.sequence, tokens, keepFrom, signal);
    }

    /** The KV of a log for the loaded model (`alone`: without its context), encoded now and stored if missing. */
    private async kvFor(log: LogRecord, alone = false): Promise<StoredKv> {
        const fingerprint = this.runtime.fingerprint.id + (alone ? KV_ALONE_SUFFIX : "");
        const stored = await this.store.getKv(log.id, fingerprint);
        if (stored != null)
            return {id: log.id, blob: stored.data, tokens: stored.tokens};
        const encoded = await this.encode(log.logText, log.lastResponse, undefined, alone);
        await this.store.putKv({logId: log.id, fingerprint, nTokens: encoded.nCells, tokens: encoded.tokens, data: encoded.blob});
        return {id: log.id, blob: encoded.blob, tokens: encoded.tokens};
    }

    /** Stores a finished task as a log: redacted text, KV of its last response, embedding. All or nothing. */
    public async storeLog(task: {task: string, workspace: string, responses: readonly string[]}, signal?: AbortSignal): Promise<LogRecord> {
        const {text, last} = logTextOf(task.responses.map((r) => redactSecrets(r).text));
        const taskText = redactSecrets(task.task).text;
        const encoded = await this.encode(text, last, signal);
        const embedder = await this.getEmbedder();
        const vector = await embedder.embed(`${taskText}\n${last}`);
        return this.store.addLog(
            {workspace: task.workspace, task: taskText, lastResponse: last, logText: text, nTokens: encoded.nCells},
            {
                kv: [{fingerprint: this.runtime.fingerprint.id, nTokens: encoded.nCells, tokens: encoded.tokens, data: encoded.blob}],
                embedding: {space: this.embeddingSpace, vector}
            }
        );
    }

    /** Encodes KV (and embeddings) for the loaded model for every log that lacks them. */
    public reencodeAll(onProgress?: (done: number, total: number) => void, signal?: AbortSignal): Promise<{encoded: number, total: number}> {
        return this.exclusive(async () => {
            const logs = await this.store.listLogs();
            let encoded = 0;
            const embedder = await this.getEmbedder();
            for (const [i, log] of logs.entries()) {
                throwIfAborted(signal);
                if (await this.store.getKv(log.id, this.runtime.fingerprint.id) == null) {
                    await this.kvFor(log);
                    await this.store.putEmbedding(log.id, {space: this.embeddingSpace, vector: await embedder.embed(`${log.task}\n${log.lastResponse}`)});
                    encoded++;
                }
                onProgress?.(i + 1, logs.length);
            }
            return {encoded, total: logs.length};
        });
    }

    public async dispose(): Promise<void> {
        await this.queue.catch(() => undefined);
        await this.embedder?.dispose();
        await this.context.dispose();
    }
}
