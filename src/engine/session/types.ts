import type {ToolHost} from "../agent/ToolHost.js";
import type {FileChecker} from "../agent/WorkspaceFiles.js";
import type {ToolName} from "../agent/ToolHost.js";
import type {AskMode, MemoryModeName} from "../options.js";
import type {ConversationTurn} from "./conversation.js";
import type {Reliance} from "./reliance.js";
import type {StaleLog} from "./staleLogs.js";

export type {AskMode, ConversationTurn, MemoryModeName, Reliance, StaleLog};

export interface AskOptions {
    /** Workspace the request belongs to; logs are searched and stored under it. */
    workspace: string;
    /** Defaults to `"kv"`; a `kv+flags` variant is also accepted (options.ts, `kvVariantFlags`). */
    mode: MemoryModeName;
    /** Logs retrieved per query. Defaults to 3. */
    k: number;
    /** Rounds of think/act/observe. Defaults to 4. */
    maxRounds: number;
    /** Tokens the model may write per round. Defaults to 384. */
    maxTokensPerRound: number;
    /** Store this task as a new log when it ends. Defaults to `true`. */
    log: boolean;
    /**
     * Tools over the workspace; null gives the model none. Defaults to `null`. A host with `files` (as
     * `DirectoryToolHost`) also gets stale-log awareness: the files the request reads are recorded with its log,
     * and retrieved logs whose files changed rank last and are listed in `staleLogs`; those whose files are all gone
     * are not reused.
     */
    tools: ToolHost | null;
    /**
     * Check each answer before giving it, where the host can (`ToolHost.verify`): a failing answer goes back to the
     * model with what failed, while rounds remain, so that a reused past solution is tried against the current
     * task's own examples before it is answered. Defaults to `false`.
     */
    verify?: boolean;
    /**
     * Checks the files logs name (stale-log awareness); null turns the checks off (nothing is recorded, every log
     * counts as unchanged), as for logs shared by several workspaces. Defaults to the tool host's `files`.
     */
    files?: FileChecker | null;
    /**
     * Keep what the engine's sequence holds from the previous request (a conversation's follow-up): when the same
     * logs are stacked again, only the tokens after the part of the prompt the sequence already holds are
     * evaluated, and the finished task's log is encoded on a scratch sequence so the conversation's cells stay.
     * Off, every request starts from a cleared sequence (what the evaluation's cost figures assume). Defaults to `false`.
     */
    reuseCache?: boolean;
    /** Logs never to retrieve for this request (a conversation's own earlier turns: already in the prompt as text). */
    excludeLogs?: readonly string[];
    /** Editor context (file, selection) appended to the request. */
    editorContext?: string;
    /**
     * The workspace files `editorContext` comes from (workspace-relative), recorded with the log as if read (with
     * the tool host's `files`). Defaults to none.
     */
    attachedFiles?: readonly string[];
    /**
     * The text the first round retrieves logs with. Defaults to the request. A host whose request wraps the user's
     * words in fixed instructions passes the words alone, so that the instructions do not decide what is retrieved.
     */
    query?: string;
    /**
     * Text the first round's reply starts with (for example a function signature to complete), placed right after
     * the assistant turn opener; it is part of that round's response. Defaults to none.
     */
    answerPrefix?: string;
    /**
     * Earlier turns of this conversation, oldest first, rendered as chat turns between the system prompt and the
     * request. When the prompt does not fit the context the oldest exchanges are dropped first (then the
     * lowest-ranked logs); the request never is. Retrieval still uses the request (or `query`) alone. The stored
     * log's task is the request preceded by the previous user request, shortened. Defaults to none.
     */
    conversation?: readonly ConversationTurn[];
    signal?: AbortSignal;
    onText?(text: string): void;
    onEvent?(event: AskEvent): void;
}

export type AskEvent =
    /** `stale`: the logs of `logIds` whose files changed since their session (they come last). */
    | {type: "retrieved", round: number, logIds: string[], stale: StaleLog[]}
    | {type: "round", round: number}
    | {type: "tool", round: number, tool: string, argument: string}
    | {type: "verify", round: number, passed: boolean}
    /** The round's answer only repeated the request's code (`repeatsOnlyRequest`): the model was told so and goes on. */
    | {type: "incomplete", round: number};

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
    /** Provenance: the past sessions this answer reused, in retrieval order (per round, unchanged ones first). */
    usedLogs: string[];
    /**
     * For each of `usedLogs` (same order): the share of the final response's substantive lines already in that
     * session's last response (`session/reliance.ts`), so a host can show which one the answer leaned on most.
     */
    reliance: Reliance[];
    /** The logs of `usedLogs` whose files changed or went since their session, with those files; the others are unchanged. */
    staleLogs: StaleLog[];
    logId: string | null;
    timings: AskTimings;
    tokens: {prompt: number, generated: number};
}

/** What `score` takes: the options of `ask` that shape the first round's prompt. */
export interface ScoreOptions extends Pick<AskOptions, "workspace" | "mode" | "k" | "editorContext" | "query" | "answerPrefix" | "conversation" | "signal"> {
    /** Tools the system prompt lists: a host (its offered tools) or the names. Defaults to none. */
    tools: ToolHost | readonly ToolName[] | null;
}

export interface ScoreResult {
    /** Mean natural-log probability per token of the continuation. */
    meanLogProb: number;
    /** Sum of the tokens' log probabilities. */
    sumLogProb: number;
    /** Tokens of the continuation. */
    tokens: number;
    /** Tokens of the round-1 prompt (stacked log cells not counted). */
    promptTokens: number;
    /** Cells of stacked logs in front of the prompt (KV modes). */
    prefixCells: number;
    /** The past sessions in the prompt, in retrieval order. */
    usedLogs: string[];
    timings: {retrieveMs: number, kvLoadMs: number, scoreMs: number, totalMs: number};
}
