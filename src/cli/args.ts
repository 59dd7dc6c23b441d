import {parseArgs as parseNodeArgs, type ParseArgsConfig} from "node:util";
import {HindsightError} from "../engine/index.js";

/** Parsed command line: positional words (after the command) and `--name value` / `--flag` options. */
export interface ParsedArgs {
    positionals: string[];
    options: Map<string, string | true>;
}

type OptionSpec = NonNullable<ParseArgsConfig["options"]>;
const text = {type: "string"} as const;
const flag = {type: "boolean"} as const;

/** Options every command takes. */
const globalOptions: OptionSpec = {json: flag, help: {type: "boolean", short: "h"}, store: text, model: text};
/** Options of the commands that load a model. */
const modelOptions: OptionSpec = {"embedding-model": text, gpu: text, "kv-type": text, threads: text, "context-size": text};

/**
 * The options each command accepts (besides the global ones). An option not listed for a command is an error that
 * names it and the command's options, never silently ignored or taken as another option's value.
 */
export const commandOptions: Readonly<Record<string, OptionSpec>> = {
    "model": {pypi: text, uri: text, force: flag},
    "ask": {...modelOptions, workspace: text, mode: text, k: text, "max-rounds": text, "max-tokens": text, "no-log": flag},
    "chat": {...modelOptions, workspace: text, mode: text, k: text, "max-rounds": text, "max-tokens": text, "no-log": flag},
    "logs": {...modelOptions, outcome: text, "trust-kv": flag},
    "verify-kv": {...modelOptions},
    "bench": {...modelOptions, "log-tokens": text, "gen-tokens": text, repeat: text, ks: text},
    "eval": {...modelOptions, suite: text, modes: text, limit: text, subset: text, "log-limit": text, seed: text, k: text, "max-rounds": text,
        "max-tokens": text, data: text, "log-data": text, corpus: text, run: text, out: text, "report-only": flag,
        sets: text, "answer-style": text, phase: text, metric: text, "rebuild-store": flag}
};

/** Every option of every command, for the first pass that only finds the command's name. */
const anyOption: OptionSpec = Object.assign({}, globalOptions, ...Object.values(commandOptions));

function optionList(spec: OptionSpec): string {
    return Object.entries(spec).map(([name, o]) => o.type === "string" ? `--${name} VALUE` : `--${name}`).join(", ");
}

/** node:util's parse errors carry a code; turn them into one sentence that names the option and the choices. */
function argumentError(err: unknown, command: string | undefined, spec: OptionSpec): never {
    const code = (err as {code?: string}).code;
    const message = (err as Error).message ?? String(err);
    const option = /'(-[^'\s]+)/.exec(message)?.[1];
    const where = command == null ? "hindsight" : `\`hindsight ${command}\``;
    if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION")
        throw new HindsightError("INVALID_ARGUMENT",
            `Unknown option ${option ?? message} for ${where}. Its options: ${optionList(spec)}.`, {cause: err});
    if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
        const name = option?.replace(/^-+/, "").replace(/ .*/, "");
        const takesValue = name != null && spec[name]?.type === "string";
        throw new HindsightError("INVALID_ARGUMENT", takesValue
            ? `The option --${name} needs a value (write --${name}=VALUE for a value that starts with "-").`
            : `The option --${name ?? "?"} takes no value.`, {cause: err});
    }
    throw new HindsightError("INVALID_ARGUMENT", message, {cause: err});
}

/**
 * Parses a command line strictly (node:util `parseArgs`, `strict: true`) against the options of its command: the
 * first positional word. Returns the command (undefined when none was given) and the rest.
 */
export function parseCommandLine(argv: readonly string[]): {command: string | undefined, args: ParsedArgs} {
    let command: string | undefined;
    try {
        command = parseNodeArgs({args: [...argv], options: anyOption, strict: false, allowPositionals: true}).positionals[0];
    } catch (err) {
        argumentError(err, undefined, anyOption);
    }
    if (command != null && !(command in commandOptions))
        throw new HindsightError("INVALID_ARGUMENT",
            `Unknown command "${command}". Commands: ${Object.keys(commandOptions).join(", ")}. Run \`hindsight --help\` for more.`);
    const spec: OptionSpec = {...globalOptions, ...(command == null ? {} : commandOptions[command])};
    let parsed: ReturnType<typeof parseNodeArgs>;
    try {
        parsed = parseNodeArgs({args: [...argv], options: spec, strict: true, allowPositionals: true});
    } catch (err) {
        argumentError(err, command, spec);
    }
    const options = new Map<string, string | true>();
    for (const [name, value] of Object.entries(parsed.values)) {
        if (value === true)
            options.set(name, true);
        else if (typeof value === "string")
            options.set(name, value);
    }
    return {command, args: {positionals: parsed.positionals.slice(1), options}};
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
    if (raw.trim() === "" || !Number.isInteger(value) || value < range.min || value > range.max)
        throw new HindsightError("INVALID_ARGUMENT", `--${name} must be a whole number from ${range.min} to ${range.max} (got "${raw}").`);
    return value;
}

export function optFlag(args: ParsedArgs, name: string): boolean {
    return args.options.get(name) === true;
}
