import {HindsightError} from "../engine/index.js";

/** Parsed command line: positional words and `--name value` / `--flag` options. */
export interface ParsedArgs {
    positionals: string[];
    options: Map<string, string | true>;
}

/** Options that never take a value. Every other `--name` consumes the next word. */
const booleanFlags = new Set(["json", "no-log", "help", "force", "verbose", "report-only"]);

export function parseArgs(argv: readonly string[]): ParsedArgs {
    const positionals: string[] = [];
    const options = new Map<string, string | true>();

    for (let i = 0; i < argv.length; i++) {
        const word = argv[i]!;
        if (word === "--") {
            positionals.push(...argv.slice(i + 1));
            break;
        }
        if (!word.startsWith("--") || word === "-") {
            positionals.push(word);
            continue;
        }
        const eq = word.indexOf("=");
        const name = eq >= 0 ? word.slice(2, eq) : word.slice(2);
        if (eq >= 0) {
            options.set(name, word.slice(eq + 1));
        } else if (booleanFlags.has(name)) {
            options.set(name, true);
        } else {
            const value = argv[i + 1];
            if (value == null || value.startsWith("--"))
                throw new HindsightError("INVALID_ARGUMENT", `The option --${name} needs a value.`);
            options.set(name, value);
            i++;
        }
    }
    return {positionals, options};
}

export function optString(args: ParsedArgs, name: string): string | undefined {
    const value = args.options.get(name);
    if (value === true)
        throw new HindsightError("INVALID_ARGUMENT", `The option --${name} needs a value.`);
    return value;
}

export function optInt(args: ParsedArgs, name: string, fallback: number, range: {min: number, max: number}): number {
    const raw = optString(args, name);
    if (raw == null)
        return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < range.min || value > range.max)
        throw new HindsightError("INVALID_ARGUMENT", `--${name} must be a whole number from ${range.min} to ${range.max} (got "${raw}").`);
    return value;
}

export function optFlag(args: ParsedArgs, name: string): boolean {
    return args.options.get(name) === true;
}
