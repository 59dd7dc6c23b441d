import type {LlamaEmbeddingContext, LlamaModel} from "node-llama-cpp";
import type {StoredKv} from "../kv/KvLogCodec.js";
import type {LogOutcome, LogStore} from "../store/index.js";

/**
 * Hybrid retrieval: LanceDB full-text (BM25) and vector similarity (embeddings from the loaded model), fused by
 * reciprocal rank; vector hits count only above a similarity threshold. Outcome-aware: rejected logs and logs whose tests failed are never returned; accepted logs and
 * logs whose tests passed rank higher. Each query returns its top k; callers accumulate across rounds.
 */
export interface RetrievedLog {
    id: string;
    score: number;
}

export interface RetrieveOptions {
    k: number;
    /**
     * A vector hit counts only if it is at least this similar (cosine), whether or not full-text search found it
     * too. The paper uses no threshold; but a chat model's own embeddings rate everything alike (Qwen2.5-Coder-0.5B
     * gave 0.42-0.54 to every code task, related or not), and fusing their ranks pushed the right log out of the
     * top 3 for half the tasks it had been found for by full text (eval: parent recall 71 % with full text, 36 %
     * fused). An assistant should not inject unrelated sessions either. Defaults to 0.9.
     */
    minVectorSimilarity?: number;
    /**
     * Full-text hits count only when the best one (after `exclude`) scores at least this many times the next one
     * (BM25 scores; one hit alone counts). Without a clear best match, full text returns whichever sessions share
     * common words with the query, and stacking those made the reference answer less likely (issue 12: EvoEval
     * creative and tool_use, whose parent task was among the three retrieved logs for 3 of 20 and 5 of 19). Vector hits are not gated (they pass
     * `minVectorSimilarity`). Defaults to none (every full-text hit counts).
     */
    minTextLead?: number;
    workspace?: string;
    exclude?: ReadonlySet<string>;
    /**
     * Return up to this many hits after the top k (next in rank), for a caller that may pass some over; the search
     * itself, and so the top k, is what it is without them. Defaults to 0.
     */
    spare?: number;
}

const excludedOutcomes: LogOutcome[] = ["rejected", "tests-failed"];
const boost: Partial<Record<LogOutcome, number>> = {"accepted": 1.5, "tests-passed": 1.3};
const rrfK = 60;

export class Retriever {
    public constructor(private readonly store: LogStore, private readonly embedder: QueryEmbedder | null) {}

    public async retrieve(query: string, options: RetrieveOptions): Promise<RetrievedLog[]> {
        const text = query.trim();
        if (text === "")
            return [];
        const depth = Math.max(10, options.k * 4);
        const filter = {k: depth, workspace: options.workspace, excludeOutcomes: excludedOutcomes};
        const [textHits, vectorHits] = await Promise.all([
            this.store.searchText(text, filter),
            this.embedder == null
                ? Promise.resolve([])
                : this.embedder.embed(text).then((vector) => this.store.searchVector(this.embedder!.space, vector, filter))
        ]);

        const minSimilarity = options.minVectorSimilarity ?? 0.9;
        const fused = new Map<string, number>();
        for (const hits of [leadingText(textHits, options), vectorHits.filter((hit) => hit.score >= minSimilarity)])
            hits.forEach((hit, rank) => fused.set(hit.id, (fused.get(hit.id) ?? 0) + 1 / (rrfK + rank + 1)));

        const ids = [...fused.keys()].filter((id) => !options.exclude?.has(id));
        const logs = await Promise.all(ids.map((id) => this.store.getLog(id)));
        return ids
            .map((id, i) => ({id, score: fused.get(id)! * (boost[logs[i]?.outcome ?? "unknown"] ?? 1), log: logs[i]}))
            .filter((x) => x.log != null && !excludedOutcomes.includes(x.log.outcome))
            .sort((a, b) => b.score - a.score)
            .slice(0, options.k + (options.spare ?? 0))
            .map(({id, score}) => ({id, score}));
    }

    /**
     * The seed of an inline suggestion: the best full-text hit (one query, no vectors: it runs while typing) if it
     * has KV for `fingerprint` of at most `maxCells` cells; rejected and failed logs are never returned. With
     * `minTextLead`, only a clear best match is a seed, as `retrieve` gates full text.
     */
    public async findSeed(query: string, options: {workspace: string, fingerprint: string, maxCells: number, minTextLead?: number}): Promise<StoredKv | null> {
        const hits = await this.store.searchText(query, {k: options.minTextLead == null ? 1 : 2, workspace: options.workspace, excludeOutcomes: excludedOutcomes});
        const [hit] = leadingText(hits, options);
        if (hit == null)
            return null;
        const kv = await this.store.getKv(hit.id, options.fingerprint);
        return kv != null && kv.nTokens <= options.maxCells ? {id: hit.id, blob: kv.data, tokens: kv.tokens} : null;
    }
}

/** The full-text hits (not excluded) if the best leads the next by `minTextLead`, else none. */
function leadingText(hits: readonly RetrievedLog[], options: Pick<RetrieveOptions, "minTextLead" | "exclude">): readonly RetrievedLog[] {
    const lead = options.minTextLead;
    if (lead == null)
        return hits;
    const kept = hits.filter((hit) => !options.exclude?.has(hit.id)).sort((a, b) => b.score - a.score);
    return kept.length < 2 || kept[0]!.score >= lead * kept[1]!.score ? kept : [];
}

/** What retrieval needs of an embedder: the space its vectors live in and a query's vector. */
export interface QueryEmbedder {
    readonly space: string;
    embed(text: string): Promise<Float32Array>;
}

/** Embeddings from a node-llama-cpp embedding context, truncated to fit it. */
export class Embedder implements QueryEmbedder {
    /** `ownedModel`: a model loaded for embeddings alone, disposed with the embedder. */
    public constructor(private readonly context: LlamaEmbeddingContext, public readonly space: string, private readonly maxTokens: number,
        private readonly ownedModel?: LlamaModel) {}

    public async embed(text: string): Promise<Float32Array> {
        const model = this.context.model;
        let tokens = model.tokenize(text);
        if (tokens.length > this.maxTokens)
            tokens = tokens.slice(0, this.maxTokens);
        if (tokens.length === 0)
            tokens = model.tokenize(" ");
        const embedding = await this.context.getEmbeddingFor(tokens);
        return Float32Array.from(embedding.vector);
    }

    public async dispose(): Promise<void> {
        await this.context.dispose();
        await this.ownedModel?.dispose();
    }
}
