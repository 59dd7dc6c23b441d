import picomatch from "picomatch";

/**
 * Files that are not read into a task (`hindsight.excludeGlobs`; package.json declares the same list as the
 * setting's default, and a unit test keeps them equal). A glob without a slash matches any path segment, so
 * `.ssh` also excludes everything under it; a glob with a slash matches from the workspace root.
 */
export const DEFAULT_EXCLUDE_GLOBS: readonly string[] = [
    ".env*",
    "*.pem",
    "*.key",
    "*.p8",
    "*.p12",
    "*.pfx",
    "*.ppk",
    "*.jks",
    "*.keystore",
    "*.kdbx",
    "*.ovpn",
    "*.tfstate",
    "*.tfstate.*",
    "*.tfvars",
    "id_rsa*",
    "id_dsa*",
    "id_ecdsa*",
    "id_ed25519*",
    "*credentials*",
    "secrets.*",
    "*.secret",
    "*.secrets",
    "*service[-_]account*.json",
    "*serviceaccount*.json",
    "*_history",
    "local.settings.json",
    ".npmrc",
    ".pypirc",
    ".netrc",
    "_netrc",
    ".htpasswd",
    ".pgpass",
    ".vault-token",
    ".ssh",
    ".gnupg",
    ".aws",
    ".azure",
    "**/.git/config",
    "**/.docker/config.json",
    "**/.kube/config",
    "kubeconfig*",
    "**/gh/hosts.yml"
];

/** A glob of `hindsight.excludeGlobs` that cannot be used, and why (one sentence, for the user). */
export interface GlobProblem {
    glob: string;
    reason: string;
}

/** One brace alternative of a glob: path segments, `**` standing for any number of segments. */
type Part = "**" | RegExp;

interface CompiledGlob {
    negated: boolean;
    alternatives: Part[][];
}

/**
 * A star run (`*`, `**` inside a segment) lets the regular expression of a segment backtrack; three in one
 * segment cost about 12 ms on a 255-character name, four cost 0.8 s. Globs with more are refused.
 */
const maxStarsPerSegment = 3;
/** Brace alternatives one glob may expand to (`{a,b}/{c,d}` is 4). */
const maxAlternatives = 256;
/** File systems cap a name at 255 bytes; a longer "segment" is not a real name and is treated as excluded. */
const maxSegmentLength = 255;

const segmentOptions: picomatch.PicomatchOptions = {
    nocase: true, // two of the three desktop platforms ignore case in file names
    dot: true, // `*` matches `.env`, as in VS Code
    nobrace: true, // braces are expanded before, across segments
    noextglob: true,
    nonegate: true,
    noglobstar: true, // `**` spanning segments is handled by the segment matcher below
    debug: true // throw on an invalid expression (`[z-a]`) instead of matching nothing in silence
};

/**
 * The exclusion globs as VS Code reads `files.exclude` patterns, matched by picomatch: `*` and `?` within a
 * path segment, `**` for any number of segments, `{a,b}` alternatives (also across `/`), `[a-z]` and `[!a-z]`
 * ranges; everything else is literal. `\` separates segments like `/`. Beyond VS Code: a glob without a slash
 * matches any segment, a match on a folder excludes everything under it, and a glob starting with `!` takes
 * paths back out (VS Code's proposal for negated excludes, microsoft/vscode#134415): a path is excluded when it
 * matches some glob and no `!` glob, whatever their order.
 *
 * `**` is matched segment by segment (linear in the path), so only one segment's expression can backtrack, and
 * that is bounded by `maxStarsPerSegment`.
 */
export class ExcludeGlobs {
    /** The globs that cannot be used; they are left out of matching (a bad `!` glob then takes nothing back). */
    public readonly problems: readonly GlobProblem[];
    private readonly include: CompiledGlob[] = [];
    private readonly exclude: CompiledGlob[] = [];

    private constructor(globs: readonly string[]) {
        const problems: GlobProblem[] = [];
        for (const raw of globs) {
            const compiled = compileGlob(raw);
            if (compiled == null)
                continue;
            if ("reason" in compiled)
                problems.push(compiled);
            else
                (compiled.negated ? this.include : this.exclude).push(compiled);
        }
        this.problems = problems;
    }

    public static compile(globs: readonly string[]): ExcludeGlobs {
        return new ExcludeGlobs(globs);
    }

    /** Whether `relPath` (relative to the workspace, `/` or `\` separated) is excluded. Never throws. */
    public matches(relPath: string): boolean {
        const segments = relPath.replaceAll("\\", "/").split("/").filter((segment) => segment !== "" && segment !== ".");
        if (segments.length === 0)
            return false;
        if (segments.some((segment) => segment.length > maxSegmentLength))
            return true;
        const hit = (glob: CompiledGlob) => glob.alternatives.some((parts) => matchesPrefix(parts, segments));
        return this.exclude.some(hit) && !this.include.some(hit);
    }
}

const compiledSets = new Map<string, ExcludeGlobs>();

/** Whether `relPath` matches `globs` (see `ExcludeGlobs`); compiled sets are kept, so calling often is cheap. */
export function isExcludedPath(relPath: string, globs: readonly string[] = DEFAULT_EXCLUDE_GLOBS): boolean {
    const key = globs.join("\n");
    let set = compiledSets.get(key);
    if (set == null) {
        if (compiledSets.size >= 64)
            compiledSets.clear();
        set = ExcludeGlobs.compile(globs);
        compiledSets.set(key, set);
    }
    return set.matches(relPath);
}

/** The globs of `globs` that cannot be used, for the host to report when it reads the settings. */
export function excludeGlobProblems(globs: readonly string[]): GlobProblem[] {
    return [...ExcludeGlobs.compile(globs).problems];
}

/** Undefined for blank lines and `#` comments. */
function compileGlob(raw: string): CompiledGlob | GlobProblem | undefined {
    let glob = raw.trim();
    if (glob === "" || glob.startsWith("#"))
        return undefined;
    const negated = glob.startsWith("!");
    glob = glob.slice(negated ? 1 : 0).replaceAll("\\", "/").replace(/^(?:\.\/)+/, "").replace(/\/+$/, "");
    if (glob === "" || glob === "/")
        return {glob: raw, reason: "it names no file"};
    const anchored = glob.includes("/");
    glob = glob.replace(/^\/+/, "");

    const expanded = expandBraces(glob);
    if (expanded == null)
        return {glob: raw, reason: `its braces expand to more than ${maxAlternatives} alternatives`};
    const alternatives: Part[][] = [];
    for (const alternative of expanded) {
        const parts: Part[] = anchored ? [] : ["**"];
        for (const segment of alternative.split("/")) {
            if (segment === "")
                continue;
            if (segment === "**") {
                if (parts.at(-1) !== "**")
                    parts.push("**");
                continue;
            }
            const stars = segment.match(/\*+/g)?.length ?? 0;
            if (stars > maxStarsPerSegment)
                return {glob: raw, reason: `one of its path segments has ${stars} runs of *; at most ${maxStarsPerSegment} keep matching fast`};
            try {
                parts.push(picomatch.makeRe(segmentSource(segment), segmentOptions));
            } catch (err) {
                return {glob: raw, reason: `"${segment}" is not a valid pattern (${(err as Error).message.replace(/^Invalid regular expression: /, "")})`};
            }
        }
        alternatives.push(parts);
    }
    return {negated, alternatives};
}

/**
 * picomatch's syntax for one segment in VS Code's meaning: `[!` opens a negated range as `[^` does, and the
 * characters picomatch would read as regular-expression groups or extglobs (`( ) | + @ ! { }`) are literal.
 */
function segmentSource(segment: string): string {
    let out = "";
    let inRange = false;
    for (let i = 0; i < segment.length; i++) {
        const char = segment[i]!;
        if (inRange) {
            out += char === "!" && segment[i - 1] === "[" ? "^" : char;
            inRange = char !== "]" || segment[i - 1] === "[";
        } else if (char === "[" && segment.indexOf("]", i + 2) > 0) {
            out += char;
            inRange = true;
        } else
            out += /[()|+@!{}]/.test(char) ? `\\${char}` : char;
    }
    return out;
}

/**
 * `{a,b}` alternatives, nested ones too, as VS Code reads them (a brace without a comma, or one left open, is
 * literal). Undefined when there would be more than `maxAlternatives`.
 */
function expandBraces(glob: string): string[] | undefined {
    let results = [""];
    for (let i = 0; i < glob.length; i++) {
        const close = glob[i] === "{" ? matchingBrace(glob, i) : -1;
        const choices = close > 0 ? splitTopLevel(glob.slice(i + 1, close)) : [];
        if (choices.length < 2) {
            results = results.map((result) => result + glob[i]);
            continue;
        }
        const expandedChoices: string[] = [];
        for (const choice of choices) {
            const inner = expandBraces(choice);
            if (inner == null)
                return undefined;
            expandedChoices.push(...inner);
        }
        if (results.length * expandedChoices.length > maxAlternatives)
            return undefined;
        results = results.flatMap((result) => expandedChoices.map((choice) => result + choice));
        i = close;
    }
    return results;
}

function matchingBrace(glob: string, open: number): number {
    let depth = 0;
    for (let i = open; i < glob.length; i++) {
        if (glob[i] === "{")
            depth++;
        else if (glob[i] === "}" && --depth === 0)
            return i;
    }
    return -1;
}

function splitTopLevel(body: string): string[] {
    const choices: string[] = [];
    let depth = 0;
    let start = 0;
    for (let i = 0; i < body.length; i++) {
        if (body[i] === "{")
            depth++;
        else if (body[i] === "}")
            depth--;
        else if (body[i] === "," && depth === 0) {
            choices.push(body.slice(start, i));
            start = i + 1;
        }
    }
    choices.push(body.slice(start));
    return choices;
}

/**
 * Whether `parts` match the first segments of `segments` (a match on a folder covers what is under it).
 * Memoised over (part, segment) positions, so a glob with several `**` costs at most parts × segments tests.
 */
function matchesPrefix(parts: readonly Part[], segments: readonly string[]): boolean {
    const memo = new Map<number, boolean>();
    const match = (p: number, s: number): boolean => {
        if (p === parts.length)
            return s > 0;
        const key = p * (segments.length + 1) + s;
        const known = memo.get(key);
        if (known != null)
            return known;
        const part = parts[p]!;
        const result = part === "**"
            ? match(p + 1, s) || (s < segments.length && match(p, s + 1))
            : s < segments.length && part.test(segments[s]!) && match(p + 1, s + 1);
        memo.set(key, result);
        return result;
    };
    return match(0, 0);
}
