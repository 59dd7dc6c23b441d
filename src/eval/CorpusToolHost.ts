import type {ToolHost, ToolName} from "../engine/index.js";

export interface Paragraph {
    title: string;
    text: string;
}

const tokenize = (text: string) => text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];

/**
 * The open-book tool for 2WikiMultiHopQA: `search` ranks the corpus paragraphs by BM25 and returns the top few
 * (title and text); the workspace tools do not exist here and say so.
 */
export class CorpusToolHost implements ToolHost {
    public readonly tools: readonly ToolName[] = ["search"];
    private readonly docs: {paragraph: Paragraph, tf: Map<string, number>, length: number}[];
    private readonly df = new Map<string, number>();
    private readonly avgLength: number;

    public constructor(paragraphs: readonly Paragraph[], private readonly topK = 3) {
        this.docs = paragraphs.map((paragraph) => {
            const tf = new Map<string, number>();
            const words = tokenize(`${paragraph.title} ${paragraph.text}`);
            for (const w of words)
                tf.set(w, (tf.get(w) ?? 0) + 1);
            for (const w of tf.keys())
                this.df.set(w, (this.df.get(w) ?? 0) + 1);
            return {paragraph, tf, length: words.length};
        });
        this.avgLength = this.docs.reduce((a, d) => a + d.length, 0) / Math.max(1, this.docs.length);
    }

    public get titles(): Set<string> {
        return new Set(this.docs.map((d) => d.paragraph.title));
    }

    /** BM25 (k1 1.2, b 0.75) top hits for `query`. */
    public rank(query: string): Paragraph[] {
        const terms = [...new Set(tokenize(query))];
        const n = this.docs.length;
        const scored: {score: number, paragraph: Paragraph}[] = [];
        for (const doc of this.docs) {
            let score = 0;
            for (const t of terms) {
                const f = doc.tf.get(t);
                if (f == null)
                    continue;
                const df = this.df.get(t)!;
                const idf = Math.log(1 + (n - df + 0.5) / (df + 0.5));
                score += idf * f * 2.2 / (f + 1.2 * (0.25 + 0.75 * doc.length / this.avgLength));
            }
            if (score > 0)
                scored.push({score, paragraph: doc.paragraph});
        }
        return scored.sort((a, b) => b.score - a.score).slice(0, this.topK).map((s) => s.paragraph);
    }

    public search(query: string): Promise<string> {
        const hits = this.rank(query);
        return Promise.resolve(hits.length === 0 ? "No paragraph matches." : hits.map((p) => `${p.title}: ${p.text}`).join("\n\n"));
    }

    public listFiles(): Promise<string> {
        return Promise.resolve("There are no files here; use ACTION: search <words>.");
    }

    public readFile(): Promise<string> {
        return this.listFiles();
    }
}
