/** Scoring and statistics: exact match / F1 as SQuAD and the LAG paper normalize, Wilson and normal intervals. */

export function normalizeAnswer(text: string): string {
    return text
        .toLowerCase()
        .replace(/[!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/g, " ")
        .replace(/\b(a|an|the)\b/g, " ")
        .replace(/\s+/g, " ")
        .trim();
}

export function exactMatch(prediction: string, gold: string): boolean {
    return normalizeAnswer(prediction) === normalizeAnswer(gold);
}

export function f1Score(prediction: string, gold: string): number {
    const p = normalizeAnswer(prediction).split(" ").filter((t) => t !== "");
    const g = normalizeAnswer(gold).split(" ").filter((t) => t !== "");
    if (p.length === 0 || g.length === 0)
        return p.length === g.length ? 1 : 0;
    const counts = new Map<string, number>();
    for (const t of g)
        counts.set(t, (counts.get(t) ?? 0) + 1);
    let common = 0;
    for (const t of p) {
        const c = counts.get(t) ?? 0;
        if (c > 0) {
            common++;
            counts.set(t, c - 1);
        }
    }
    if (common === 0)
        return 0;
    const precision = common / p.length, recall = common / g.length;
    return 2 * precision * recall / (precision + recall);
}

/** The option letter a multiple-choice answer names: "ANSWER: (C)", "The answer is C", "C. foo", ... */
export function choiceLetter(answer: string, nOptions: number): string | null {
    const letters = "ABCDEFGHIJKLMNOP".slice(0, nOptions);
    const patterns = [
        new RegExp(`answer(?: is)?\\s*[:\\-]?\\s*\\(?([${letters}])\\)?(?![a-zA-Z])`, "i"),
        new RegExp(`^\\s*\\(?([${letters}])\\)?(?:[.):\\s]|$)`),
        new RegExp(`\\(([${letters}])\\)`),
        new RegExp(`(?<![a-zA-Z])([${letters}])(?![a-zA-Z])`)
    ];
    for (const pattern of patterns) {
        const match = pattern.exec(answer);
        if (match != null)
            return match[1]!.toUpperCase();
    }
    return null;
}

export interface Interval {
    value: number;
    low: number;
    high: number;
    n: number;
}

/** Wilson score interval (95%) for `successes` out of `n`. */
export function wilson(successes: number, n: number, z = 1.96): Interval {
    if (n === 0)
        return {value: NaN, low: NaN, high: NaN, n};
    const p = successes / n;
    const denom = 1 + z * z / n;
    const centre = (p + z * z / (2 * n)) / denom;
    const half = z * Math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom;
    return {value: p, low: Math.max(0, centre - half), high: Math.min(1, centre + half), n};
}

/**
 * Mean of `values` ± `factor(n)` standard errors. One value gives a point (`single: "point"`) or no interval
 * (`"open"`: a t interval needs two).
 */
function intervalOfMean(values: readonly number[], factor: (n: number) => number, single: "point" | "open"): Interval {
    const n = values.length;
    if (n === 0)
        return {value: NaN, low: NaN, high: NaN, n};
    const mean = values.reduce((a, b) => a + b, 0) / n;
    if (n === 1)
        return single === "point" ? {value: mean, low: mean, high: mean, n} : {value: mean, low: NaN, high: NaN, n};
    const sd = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
    const half = factor(n) * sd / Math.sqrt(n);
    return {value: mean, low: mean - half, high: mean + half, n};
}

/** Mean with a normal-approximation 95% interval (t would be wider for tiny n; we report n next to it). */
export function meanInterval(values: readonly number[], z = 1.96): Interval {
    return intervalOfMean(values, () => z, "point");
}

/**
 * Exact two-sided McNemar test (a sign test on the discordant pairs): the chance of a split at least as uneven as
 * `wins` / `losses` if neither mode were better.
 */
export function mcnemarExactP(wins: number, losses: number): number {
    const n = wins + losses;
    if (n === 0)
        return 1;
    let tail = 0, binomial = 1;
    for (let i = 0; i <= Math.min(wins, losses); i++) {
        tail += binomial;
        binomial = binomial * (n - i) / (i + 1);
    }
    return Math.min(1, 2 * tail / 2 ** n);
}

/**
 * Difference of two accuracies paired on the same tasks, `(wins - losses) / n`, with Newcombe's 95% interval for
 * paired proportions (his method 10: Wilson intervals of each accuracy, combined with the pairs' correlation). Unlike
 * the Wald interval it does not collapse to a point when no task differs: 0 of 15 right in both modes still allows
 * about 20 points either way.
 */
export function pairedDifference(t: {both: number, wins: number, losses: number, neither: number}, z = 1.96): Interval {
    const {both: a, wins: b, losses: c, neither: d} = t;
    const n = a + b + c + d;
    if (n === 0)
        return {value: NaN, low: NaN, high: NaN, n};
    const p1 = (a + b) / n, p2 = (a + c) / n;
    const w1 = wilson(a + b, n, z), w2 = wilson(a + c, n, z);
    const product = (a + b) * (c + d) * (a + c) * (b + d);
    const phi = product === 0 ? 0 : (a * d - b * c) / Math.sqrt(product);
    const down = Math.sqrt(Math.max(0, (p1 - w1.low) ** 2 - 2 * phi * (p1 - w1.low) * (w2.high - p2) + (w2.high - p2) ** 2));
    const up = Math.sqrt(Math.max(0, (w1.high - p1) ** 2 - 2 * phi * (w1.high - p1) * (p2 - w2.low) + (p2 - w2.low) ** 2));
    const diff = (b - c) / n;
    return {value: diff, low: Math.max(-1, diff - down), high: Math.min(1, diff + up), n};
}

/** Parses a Python list literal of strings (as some data files store options): `['a', "b's"]`. */
export function parsePythonStringList(text: string): string[] {
    const out: string[] = [];
    let i = text.indexOf("[") + 1;
    if (i === 0)
        throw new Error("not a list literal");
    const escapes: Record<string, string> = {n: "\n", t: "\t", r: "\r", "\\": "\\", "'": "'", "\"": "\""};
    while (i < text.length) {
        const ch = text[i]!;
        if (ch === "]")
            return out;
        if (ch === "'" || ch === "\"") {
            let value = "";
            i++;
            while (i < text.length && text[i] !== ch) {
                if (text[i] === "\\" && i + 1 < text.length) {
                    value += escapes[text[i + 1]!] ?? "\\" + text[i + 1]!;
                    i += 2;
                } else
                    value += text[i++]!;
            }
            out.push(value);
        }
        i++;
    }
    throw new Error("unterminated list literal");
}

/** Two-sided 95 % quantiles of Student's t for 1..30 degrees of freedom. */
const t975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
    2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042];

/**
 * The 97.5 % quantile of Student's t with `df` degrees of freedom: the table up to 30, then the Cornish-Fisher
 * expansion around the normal quantile (error under 1e-4 from 30 on).
 */
export function tQuantile975(df: number): number {
    if (df < 1)
        return NaN;
    if (df <= 30)
        return t975[Math.round(df) - 1]!;
    const z = 1.959964;
    return z + (z ** 3 + z) / (4 * df) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * df ** 2) +
        (3 * z ** 7 + 19 * z ** 5 + 17 * z ** 3 - 15 * z) / (384 * df ** 3);
}

/**
 * Mean of paired differences `a[i] - b[i]` with the paired t 95 % interval (mean ± t(n-1) · sd / √n). Used for
 * the log-probability metric, whose per-task differences are continuous and roughly symmetric; with n >= 30 the
 * interval is close to a bootstrap's.
 */
export function pairedMeanDifference(a: readonly number[], b: readonly number[]): Interval {
    if (a.length !== b.length)
        throw new Error("paired samples of different lengths");
    return intervalOfMean(a.map((x, i) => x - b[i]!), (n) => tQuantile975(n - 1), "open");
}
