import type {LlamaContext} from "node-llama-cpp";
import type {ToolHost, ToolName} from "./agent/ToolHost.js";
import {DisposedError, HindsightError, throwIfAborted} from "./errors.js";
import {Generator} from "./generation/Generator.js";
import type {EncodedLog} from "./kv/KvLogCodec.js";
import {encode, encodeTokens, encodingSuffix, kvFor, kvFingerprint, lagEncoding, logTextOf, logTokens, type KvEncoding, type LogText} from "./kv/logKv.js";
import {StackedPrefix} from "./kv/StackedPrefix.js";
import {defaults, type MemoryModeName} from "./options.js";
import {redactSecrets} from "./redact.js";
import {checkEmbeddingModel, embeddingSpaceOf, loadEmbedder, type EmbeddingModelFile} from "./retrieval/loadEmbedder.js";
import {Retriever, type Embedder} from "./retrieval/Retriever.js";
import type {ModelRuntime} from "./runtime/ModelRuntime.js";
import {AskLoop, type AskDeps} from "./session/AskLoop.js";
import {standaloneTask} from "./session/conversation.js";
import {createMemoryMode} from "./session/registry.js";
import type {AskOptions, AskResult, ScoreOptions, ScoreResult} from "./session/types.js";
import type {LogFile, LogRecord, LogStore} from "./store/index.js";

export type {AskEvent, AskMode, AskOptions, AskResult, AskTimings, ConversationTurn, Reliance, ScoreOptions, ScoreResult, StaleLog} from "./session/types.js";

export interface HindsightEngineOptions {
    /**
     * A GGUF model used only for retrieval embeddings (for example a dedicated embedding model). Defaults to none:
     * the loaded chat model's own embedding context. Vectors of different embedding models are never compared.
     */
    embeddingModelPath: string;
}

/** A finished task to store as a log. */
export interface StoredTask {
    task: string;
    workspace: string;
    responses: readonly string[];
    files?: readonly LogFile[];
}

const askDefaults = {mode: defaults.mode, k: defaults.k, maxRounds: defaults.maxRounds, maxTokensPerRound: defaults.maxTokensPerRound, log: true, tools: null};

/** The KV encodings `storeLog` stores: LAG's, and the default mode's where it is another. */
function storedEncodings(): KvEncoding[] {
    const preferred = createMemoryMode(defaults.mode).kv;
    return preferred == null || encodingSuffix(preferred) === "" ? [lagEncoding] : [lagEncoding, preferred];
}

/**
 * The engine: one generation context over a loaded model, the log store and retrieval. Hosts (CLI, VS Code, the
 * evaluation) call `ask` and `score`; the rounds run in `session/AskLoop`, the memory modes in `session/modes`,
 * the KV of logs in `kv/`. One request at a time on the one sequence; after `dispose()` every call is refused.
 */
export class HindsightEngine {
    private readonly generator: Generator;
    private readonly prefix: StackedPrefix;
    private embedder: Promise<Embedder> | null = null;
    private queue: Promise<unknown> = Promise.resolve();
    private disposed = false;

    private constructor(public readonly runtime: ModelRuntime, public readonly store: LogStore, private readonly context: LlamaContext,
        private readonly embeddingModel: EmbeddingModelFile | null) {
        this.generator = new Generator(runtime, context.getSequence());
        this.prefix = new StackedPrefix(runtime, this.generator.sequence);
    }

    public static async create(runtime: ModelRuntime, store: LogStore, options: Partial<HindsightEngineOptions> = {}): Promise<HindsightEngine> {
        const embeddingModel = options.embeddingModelPath ? await checkEmbeddingModel(options.embeddingModelPath) : null;
        const context = await runtime.createContext({sequences: 1});
        return new HindsightEngine(runtime, store, context, embeddingModel);
    }

    /** One request at a time on the shared sequence; refused once disposed (checked again when its turn comes). */
    private exclusive<T>(job: () => Promise<T>): Promise<T> {
        if (this.disposed)
            return Promise.reject(new DisposedError());
        const guarded = () => this.disposed ? Promise.reject(new DisposedError()) : job();
        const next = this.queue.then(guarded, guarded);
        this.queue = next.catch(() => undefined);
        return next;
    }

    /** The embedding space of this engine's vectors: the embedding model's file hash (the loaded model's by default). */
    public get embeddingSpace(): string {
        return embeddingSpaceOf(this.runtime, this.embeddingModel);
    }

    public getEmbedder(): Promise<Embedder> {
        if (this.embedder == null) {
            const loading = loadEmbedder(this.runtime, this.embeddingModel);
            this.embedder = loading;
            loading.catch(() => {
                if (this.embedder === loading)
                    this.embedder = null;
            });
        }
        return this.embedder;
    }

    private get deps(): AskDeps {
        return {
            runtime: this.runtime, store: this.store, generator: this.generator, prefix: this.prefix,
            retriever: async () => new Retriever(this.store, await this.getEmbedder())
        };
    }

    public ask(request: string, options: Partial<AskOptions> & {workspace: string}): Promise<AskResult> {
        if (request.trim() === "")
            return Promise.reject(new HindsightError("INVALID_ARGUMENT", "The request is empty. Say what you want done."));
        const o: AskOptions = {...askDefaults, ...options};
        return this.exclusive(() => {
            const loop = new AskLoop(this.deps, createMemoryMode(o.mode), request, {...o, tools: AskLoop.toolsOf(o.tools),
                files: o.files !== undefined ? o.files : AskLoop.filesOf(o.tools)});
            return loop.run(o, (responses, files) =>
                this.storeLogNow({task: standaloneTask(request, o.conversation), workspace: o.workspace, responses, files}, o.signal, o.reuseCache === true));
        });
    }

    /**
     * How likely the model finds `continuation` as its reply to `request`, with the mode's memory in place exactly
     * as `ask` builds round 1 (retrieval, stacked KV or text): the log probability of each continuation token from
     * one forward pass, no generation. Nothing is stored.
     */
    public score(request: string, continuation: string, options: Partial<ScoreOptions> & {workspace: string}): Promise<ScoreResult> {
        const o = {mode: defaults.mode, k: defaults.k, tools: null as ToolHost | readonly ToolName[] | null, ...options};
        return this.exclusive(async () => {
            const tokens = this.runtime.model.tokenize(continuation);
            if (tokens.length === 0)
                throw new HindsightError("INVALID_ARGUMENT", "The continuation to score is empty.");
            const loop = new AskLoop(this.deps, createMemoryMode(o.mode), request,
                {...o, maxTokensPerRound: tokens.length, tools: AskLoop.toolsOf(o.tools), files: AskLoop.filesOf(o.tools)});
            await loop.begin();
            const {prompt, prefixCells} = await loop.prepareRound(1);
            const t = performance.now();
            const {logProbs} = await this.generator.score(prefixCells, prompt, tokens, o.signal);
            const sum = logProbs.reduce((a, b) => a + b, 0);
            const {retrieveMs, kvLoadMs} = loop.timings;
            return {
                meanLogProb: sum / logProbs.length, sumLogProb: sum, tokens: logProbs.length, promptTokens: prompt.length, prefixCells,
                usedLogs: loop.usedLogs, timings: {retrieveMs, kvLoadMs, scoreMs: performance.now() - t, totalMs: loop.elapsedMs}
            };
        });
    }

    /**
     * Stores a finished task as a log: redacted text, KV of its last response, embedding, and the files it read
     * (`files`, for stale-log checks; defaults to none). All or nothing.
     */
    public storeLog(task: StoredTask, signal?: AbortSignal): Promise<LogRecord> {
        return this.exclusive(() => this.storeLogNow(task, signal));
    }

    /** `scratch`: encode on a sequence of its own (a scratch context), leaving the engine's sequence as it is. */
    private async storeLogNow(task: StoredTask, signal?: AbortSignal, scratch = false): Promise<LogRecord> {
        const {text, last} = logTextOf(task.responses.map((r) => redactSecrets(r).text));
        const taskText = redactSecrets(task.task).text;
        // LAG's encoding (the paper's `kv`, and inline seeds) and the default mode's, so its first reuse encodes nothing
        const logText: LogText = {logText: text, lastResponse: last, task: taskText};
        const kv = [];
        for (const encoding of storedEncodings()) {
            const encoded = scratch
                ? await this.encodeOnScratch(logText, encoding, signal)
                : await encode(this.runtime, this.generator.sequence, logText, {encoding, signal});
            kv.push({fingerprint: kvFingerprint(this.runtime, encoding), nTokens: encoded.nCells, tokens: encoded.tokens, data: encoded.blob});
        }
        const vector = await (await this.getEmbedder()).embed(`${taskText}\n${last}`);
        return this.store.addLog(
            {workspace: task.workspace, task: taskText, lastResponse: last, logText: text, nTokens: kv[0]!.nTokens, files: task.files ? [...task.files] : []},
            {kv, embedding: {space: this.embeddingSpace, vector}}
        );
    }

    /** A log encoded as `encode` does on the engine's sequence (same tokens, same fit), on a scratch context just big enough. */
    private async encodeOnScratch(log: LogText, encoding: KvEncoding, signal?: AbortSignal): Promise<EncodedLog> {
        const tokens = logTokens(this.runtime.model, log, this.generator.sequence.contextSize, encoding);
        const context = await this.runtime.createContext({sequences: 1, contextSize: Math.ceil((tokens.tokens.length + 64) / 256) * 256});
        try {
            return await encodeTokens(this.runtime, context.getSequence(), tokens, {signal});
        } finally {
            await context.dispose();
        }
    }

    /**
     * Encodes, for every log that lacks it, the KV a memory mode stacks (the evaluation does this before it times
     * a mode, so that no item pays a first use). Returns how many logs got it; a mode without KV encodes nothing.
     */
    public prepareKv(mode: MemoryModeName, onProgress?: (done: number, total: number) => void, signal?: AbortSignal): Promise<number> {
        return this.exclusive(async () => {
            const encoding = createMemoryMode(mode).kv;
            if (encoding == null)
                return 0;
            const logs = await this.store.listLogs();
            let encoded = 0;
            for (const [i, log] of logs.entries()) {
                throwIfAborted(signal);
                if (await this.store.getKv(log.id, kvFingerprint(this.runtime, encoding)) == null) {
                    await kvFor(this.runtime, this.store, this.generator.sequence, log, encoding);
                    encoded++;
                }
                onProgress?.(i + 1, logs.length);
            }
            this.prefix.reset();
            return encoded;
        });
    }

    /**
     * Brings every log up to the loaded models: encodes KV for the chat model where a log has none (LAG's and the
     * default mode's encodings, as `storeLog` stores them), and embeds the
     * log in this engine's embedding space where it has no vector there (after a change of embedding model old logs
     * would otherwise never be found by similarity). Returns how many logs got KV (`encoded`) and vectors (`embedded`).
     */
    public reencodeAll(onProgress?: (done: number, total: number) => void, signal?: AbortSignal): Promise<{encoded: number, embedded: number, total: number}> {
        return this.exclusive(async () => {
            const logs = await this.store.listLogs();
            const embeddedAlready = await this.store.embeddedLogIds(this.embeddingSpace);
            let encoded = 0, embedded = 0;
            const embedder = await this.getEmbedder();
            for (const [i, log] of logs.entries()) {
                throwIfAborted(signal);
                let missing = false;
                for (const encoding of storedEncodings())
                    if (await this.store.getKv(log.id, kvFingerprint(this.runtime, encoding)) == null) {
                        await kvFor(this.runtime, this.store, this.generator.sequence, log, encoding);
                        missing = true;
                    }
                if (missing)
                    encoded++;
                if (!embeddedAlready.has(log.id)) {
                    await this.store.putEmbedding(log.id, {space: this.embeddingSpace, vector: await embedder.embed(`${log.task}\n${log.lastResponse}`)});
                    embedded++;
                }
                onProgress?.(i + 1, logs.length);
            }
            return {encoded, embedded, total: logs.length};
        });
    }

    public get isDisposed(): boolean {
        return this.disposed;
    }

    /** Waits for the running request, then frees the embedder and the context (the runtime and store stay the caller's). */
    public async dispose(): Promise<void> {
        if (this.disposed)
            return;
        this.disposed = true;
        await this.queue.catch(() => undefined);
        await (await this.embedder?.catch(() => null))?.dispose();
        await this.context.dispose();
    }

    public async [Symbol.asyncDispose](): Promise<void> {
        await this.dispose();
    }
}
