/** What every CLI command receives: resolved global options and the output channels. */
export interface CliContext {
    /** `--json`: one JSON document on stdout, nothing else. */
    json: boolean;
    /** `--store DIR` or `HINDSIGHT_STORE`, else the default store folder. */
    storeDir: string;
    /** `--model PATH` or `HINDSIGHT_MODEL`; undefined when neither is set. */
    modelPath: string | undefined;
    /** Human-readable progress and text output; silent with `--json`. */
    info(text: string): void;
    /** Streams partial text (answer tokens) to stdout; silent with `--json`. */
    stream(text: string): void;
    /** Cancelled on SIGINT. */
    signal: AbortSignal;
}

/** A command returns a JSON-able value (printed with `--json`) and optionally its human rendering. */
export interface CommandResult {
    json: unknown;
    text?: string;
}
