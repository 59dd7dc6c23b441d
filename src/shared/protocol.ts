/**
 * The one protocol between the extension host and the chat webview: message name -> payload type, per direction,
 * each payload checked at run time on arrival (`parseToWebview`, `parseToHost`). A message is `{type, payload}`.
 * Streaming answers travel as `stream` messages `{requestId, chunk, done}`; the webview stops one with `abort`.
 * This file is imported by both sides, so it imports neither `vscode` nor the DOM.
 */
import {arrayOf, bool, literal, nullable, num, object, optional, str, type Guard, type Infer} from "./validate.js";

export const feedbackOutcomes = ["accepted", "rejected"] as const;
export type FeedbackOutcome = typeof feedbackOutcomes[number];

const outcome = literal("unknown", "accepted", "rejected", "tests-passed", "tests-failed");

/** Files of a reused session that changed or went since it ran (workspace-relative paths). */
const staleFiles = object({changed: arrayOf(str, 256), deleted: arrayOf(str, 256)});
export type StaleFiles = Infer<typeof staleFiles>;

/**
 * A past session an answer reused (a "chip" under the answer); `stale` when files it read changed since (the chip
 * says so); `reliance`: the share (0..1) of the answer's lines that session already held (the engine's
 * `reliance`), so the chip of the session the answer leaned on most stands out.
 */
const reusedLog = object({logId: str, task: str, stale: optional(staleFiles), reliance: optional(num)});
export type ReusedLog = Infer<typeof reusedLog>;

/** One entry of the chat history, as the webview shows it and the host keeps it (per workspace). */
const chatEntry = object({
    id: str,
    role: literal("user", "assistant"),
    text: str,
    done: bool,
    logId: nullable(str),
    reused: arrayOf(reusedLog),
    outcome: optional(outcome),
    error: optional(str)
});
export type ChatEntry = Infer<typeof chatEntry>;

const modelState = literal("idle", "loading", "ready", "error");
const statusInfo = object({
    state: modelState,
    device: optional(str),
    model: optional(str),
    error: optional(str),
    memorySize: optional(nullableNumber())
});
export type StatusInfo = Infer<typeof statusInfo>;

function nullableNumber(): Guard<number | null> {
    return (v): v is number | null => v === null || (typeof v === "number" && Number.isFinite(v));
}

/** A file a past session read or was given, compared with the workspace now. */
const sessionFile = object({path: str, state: literal("unchanged", "changed", "deleted")});
export type SessionFile = Infer<typeof sessionFile>;

const sessionDetail = object({
    logId: str,
    task: str,
    reasoning: str,
    createdAt: str,
    outcome,
    pinned: bool,
    /** The files the session read, as they are now (absent: not checked, e.g. in an untrusted workspace). */
    files: optional(arrayOf(sessionFile, 256))
});
export type SessionDetail = Infer<typeof sessionDetail>;

/** Host -> webview. */
export const toWebviewSchemas = {
    /** The answer to `ready`: everything the view shows at start. */
    init: object({history: arrayOf(chatEntry), status: statusInfo, attachSelection: bool, trusted: bool}),
    status: statusInfo,
    /** A request started (from the view or a command): show the user's message and an empty answer. */
    started: object({requestId: str, text: str}),
    /** Part of an answer; `done` ends it. The last message of a request may carry its metadata. */
    stream: object({
        requestId: str,
        chunk: str,
        done: bool,
        logId: optional(nullable(str)),
        reused: optional(arrayOf(reusedLog)),
        /** With `done`: the final answer, replacing what was streamed (the rounds' reasoning and tool calls). */
        final: optional(str),
        error: optional(str)
    }),
    sessionDetail,
    forgotten: object({logId: str}),
    outcome: object({logId: str, outcome}),
    /** The chat was cleared (new chat). */
    cleared: object({}),
    attachSelection: object({enabled: bool})
} as const;

/** Webview -> host. */
export const toHostSchemas = {
    ready: object({}),
    ask: object({requestId: str, text: str, attachSelection: bool}),
    abort: object({requestId: str}),
    newChat: object({}),
    openSession: object({logId: str}),
    forget: object({logId: str}),
    mark: object({logId: str, outcome: literal(...feedbackOutcomes)}),
    copy: object({code: str}),
    insert: object({code: str, logId: nullable(str)}),
    apply: object({code: str, logId: nullable(str)}),
    setAttachSelection: object({enabled: bool})
} as const;

type PayloadsOf<S extends Record<string, Guard<unknown>>> = {[K in keyof S]: Infer<S[K]>};
export type ToWebviewPayloads = PayloadsOf<typeof toWebviewSchemas>;
export type ToHostPayloads = PayloadsOf<typeof toHostSchemas>;

type MessageOf<P> = {[K in keyof P]: {type: K, payload: P[K]}}[keyof P];
export type ToWebviewMessage = MessageOf<ToWebviewPayloads>;
export type ToHostMessage = MessageOf<ToHostPayloads>;

function parser<S extends Record<string, Guard<unknown>>>(schemas: S): (data: unknown) => MessageOf<PayloadsOf<S>> | null {
    return (data) => {
        if (typeof data !== "object" || data === null)
            return null;
        const {type, payload} = data as {type?: unknown, payload?: unknown};
        if (typeof type !== "string" || !Object.prototype.hasOwnProperty.call(schemas, type))
            return null;
        if (Object.keys(data).some((key) => key !== "type" && key !== "payload"))
            return null;
        return schemas[type]!(payload) ? data as MessageOf<PayloadsOf<S>> : null;
    };
}

/** A host message the webview can trust, or null (unknown type, bad payload, extra fields). */
export const parseToWebview = parser(toWebviewSchemas);
/** A webview message the host can trust, or null. */
export const parseToHost = parser(toHostSchemas);

/** Builds a message with its type checked at compile time. */
export function toWebview<K extends keyof ToWebviewPayloads>(type: K, payload: ToWebviewPayloads[K]): ToWebviewMessage {
    return {type, payload} as ToWebviewMessage;
}

export function toHost<K extends keyof ToHostPayloads>(type: K, payload: ToHostPayloads[K]): ToHostMessage {
    return {type, payload} as ToHostMessage;
}
