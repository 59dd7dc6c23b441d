/**
 * A lock file in the store folder that serialises the writes LanceDB cannot make safe on its own: a
 * check that an id is free followed by the writes that take it (`importFrom`, `addLog` with an explicit
 * id). Everything else stays lock-free (LanceDB's optimistic commits).
 *
 * The lock is a file created exclusively (`wx`) holding its owner's pid, host and a random token. The owner
 * touches it every few seconds. A lock is stale when its owner is a dead process on this host, or when it
 * has not been touched for `staleMs` (an owner on another host that died); a stale lock is moved aside
 * under a random name and removed, and one that turns out to be fresh after all is put back.
 */
import {randomUUID} from "node:crypto";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import {StoreError} from "../errors.js";

export const WRITER_LOCK_FILE = ".writer.lock";

export interface WriterLockOptions {
    /** How long to wait for another process's lock before giving up. Defaults to 10 minutes. */
    timeoutMs: number;
    /** A lock not touched for this long is stale. Defaults to 30 seconds. */
    staleMs: number;
}

interface Owner {
    pid: number;
    host: string;
    token: string;
}

const HEARTBEAT_MS = 3000;

export class WriterLock implements AsyncDisposable {
    readonly #file: string;
    readonly #token: string;
    readonly #heartbeat: NodeJS.Timeout;
    #released = false;

    private constructor(file: string, token: string) {
        this.#file = file;
        this.#token = token;
        this.#heartbeat = setInterval(() => {
            const now = new Date();
            fs.utimes(file, now, now).catch(() => undefined);
        }, HEARTBEAT_MS);
        this.#heartbeat.unref();
    }

    /** Takes the lock of the store in `dir`, waiting while another live process holds it. */
    public static async acquire(dir: string, options: Partial<WriterLockOptions> = {}): Promise<WriterLock> {
        const timeoutMs = options.timeoutMs ?? 10 * 60 * 1000;
        const staleMs = options.staleMs ?? 30_000;
        const file = path.join(dir, WRITER_LOCK_FILE);
        const me: Owner = {pid: process.pid, host: os.hostname(), token: randomUUID()};
        const started = Date.now();
        for (let attempt = 0; ; attempt++) {
            try {
                await fs.writeFile(file, JSON.stringify(me), {flag: "wx"});
                return new WriterLock(file, me.token);
            } catch (err) {
                if ((err as NodeJS.ErrnoException).code !== "EEXIST")
                    throw new StoreError("STORE_UNAVAILABLE", `Cannot lock the log store at ${dir} (${(err as NodeJS.ErrnoException).code}). Check the folder's permissions.`, {cause: err});
            }
            const holder = await readOwner(file);
            if (holder !== "gone" && await isStale(file, holder, staleMs)) {
                await breakLock(file, holder);
                continue;
            }
            if (Date.now() - started > timeoutMs)
                throw new StoreError("STORE_UNAVAILABLE",
                    `Another Hindsight process (${holder !== "gone" && holder != null ? `pid ${holder.pid} on ${holder.host}` : "unknown"}) is writing to the log store at ${dir}. ` +
                    "Try again when it has finished.");
            const delay = Math.min(250, 10 * 2 ** Math.min(attempt, 5));
            await new Promise((resolve) => setTimeout(resolve, delay / 2 + Math.random() * delay));
        }
    }

    /** Removes the lock file if it is still this lock's. */
    public async release(): Promise<void> {
        if (this.#released)
            return;
        this.#released = true;
        clearInterval(this.#heartbeat);
        const holder = await readOwner(this.#file);
        if (holder !== "gone" && holder?.token === this.#token)
            await fs.rm(this.#file, {force: true});
    }

    public async [Symbol.asyncDispose](): Promise<void> {
        await this.release();
    }
}

/** The lock's owner; null while it is being written (or unreadable), "gone" when there is no lock file. */
async function readOwner(file: string): Promise<Owner | null | "gone"> {
    let text: string;
    try {
        text = await fs.readFile(file, "utf8");
    } catch (err) {
        return (err as NodeJS.ErrnoException).code === "ENOENT" ? "gone" : null;
    }
    try {
        const owner = JSON.parse(text) as Owner;
        return typeof owner.pid === "number" && typeof owner.host === "string" && typeof owner.token === "string" ? owner : null;
    } catch {
        return null;
    }
}

async function isStale(file: string, holder: Owner | null, staleMs: number): Promise<boolean> {
    if (holder != null && holder.host === os.hostname() && !isAlive(holder.pid))
        return true;
    const stat = await fs.stat(file).catch(() => undefined);
    return stat != null && Date.now() - stat.mtimeMs > staleMs;
}

function isAlive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch (err) {
        return (err as NodeJS.ErrnoException).code === "EPERM";
    }
}

/** Moves a stale lock aside; if what was moved is not the lock judged stale (another process took over meanwhile), puts it back. */
async function breakLock(file: string, stale: Owner | null): Promise<void> {
    const aside = `${file}.${randomUUID()}.stale`;
    try {
        await fs.rename(file, aside);
    } catch {
        return;
    }
    const moved = await readOwner(aside);
    const same = moved !== "gone" && (stale == null ? moved == null : moved?.token === stale.token);
    if (!same)
        await fs.link(aside, file).catch(() => undefined);
    await fs.rm(aside, {force: true});
}
