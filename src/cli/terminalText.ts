/**
 * Text from the store (a log's task and reasoning, ids, model output) goes to a terminal, and a terminal obeys
 * what it reads: ANSI and OSC escapes (colours, cursor moves, titles, OSC 52 which writes the clipboard), other
 * C0 and C1 controls, and bidi overrides that reorder what is shown. The CLI prints every such character as a
 * visible escape (`\x1b`, `\u202e`) instead. Each character is replaced on its own, so a sequence split across
 * two streamed chunks is neutralised too. Tabs and newlines stay; a carriage return stays only before a newline.
 */
const unsafe = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
/** In JSON text, C0 controls are already escaped by `JSON.stringify`; these are not. */
const unsafeInJson = /[\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

function hex(char: string, width: number): string {
    return char.charCodeAt(0).toString(16).padStart(width, "0");
}

/** `text` with every control character a terminal would act on shown as an escape. */
export function terminalSafe(text: string): string {
    return text.replace(/\r\n/g, "\n").replace(unsafe, (char) => char.charCodeAt(0) < 0x100 ? `\\x${hex(char, 2)}` : `\\u${hex(char, 4)}`);
}

/** JSON text with the characters `JSON.stringify` leaves raw written as `\uXXXX` escapes (the value is unchanged). */
export function jsonSafe(json: string): string {
    return json.replace(unsafeInJson, (char) => `\\u${hex(char, 4)}`);
}
