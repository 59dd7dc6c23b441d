// The JSON results of the extension's commands (the contract the tests hold it to), checked on arrival.
import assert from "node:assert/strict";

export interface AskResult {
    answer: string;
    usedLogs: string[];
    logId: string | null;
}

export interface MemoryEntry {
    id: string;
    task: string;
    createdAt: string;
    outcome: string;
    nTokens: number;
    pinned: boolean;
}

export interface StatusResult {
    state: "idle" | "loading" | "ready" | "error";
    device?: string;
    model?: string;
    error?: string;
}

export function asAskResult(value: unknown, what: string): AskResult {
    assert.ok(value != null && typeof value === "object", `${what} returned ${JSON.stringify(value)}, not an object`);
    const r = value as Record<string, unknown>;
    assert.equal(typeof r.answer, "string", `${what}: answer`);
    assert.ok(Array.isArray(r.usedLogs) && r.usedLogs.every((id) => typeof id === "string"), `${what}: usedLogs`);
    assert.ok(r.logId === null || typeof r.logId === "string", `${what}: logId`);
    return r as unknown as AskResult;
}

export function asMemory(value: unknown): MemoryEntry[] {
    assert.ok(Array.isArray(value), `hindsight.listMemory returned ${JSON.stringify(value)}, not an array`);
    for (const e of value as Record<string, unknown>[])
        assert.ok(typeof e.id === "string" && typeof e.task === "string" && typeof e.outcome === "string" && typeof e.nTokens === "number",
            `hindsight.listMemory entry ${JSON.stringify(e)}`);
    return value as MemoryEntry[];
}

export function asStatus(value: unknown): StatusResult {
    assert.ok(value != null && typeof value === "object", `hindsight.status returned ${JSON.stringify(value)}`);
    const s = value as Record<string, unknown>;
    assert.ok(["idle", "loading", "ready", "error"].includes(s.state as string), `hindsight.status state ${String(s.state)}`);
    return s as unknown as StatusResult;
}

/** A field of a command's object result, checked for its type. */
export function field<T extends "string" | "number">(value: unknown, name: string, type: T): T extends "string" ? string : number {
    assert.ok(value != null && typeof value === "object", `expected an object with ${name}, got ${JSON.stringify(value)}`);
    const v = (value as Record<string, unknown>)[name];
    assert.equal(typeof v, type, `${name} in ${JSON.stringify(value)}`);
    return v as T extends "string" ? string : number;
}
