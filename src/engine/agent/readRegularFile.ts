import fs from "node:fs/promises";

/**
 * What `readRegularFile` found: the first bytes of a regular text file (`bytes` as read, `text` decoded), or why it
 * was not read (a binary file's bytes are there too, for a caller that only hashes them).
 */
export type RegularFileRead =
    | {kind: "text", text: string, bytes: Buffer, size: number, truncated: boolean}
    | {kind: "not-regular"}
    | {kind: "binary", bytes: Buffer, size: number, truncated: boolean}
    | {kind: "unreadable", code: string};

// Not on Windows, where a FIFO cannot appear in a workspace; `?? 0` keeps the flags valid there.
const openFlags = fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0) | (fs.constants.O_NOFOLLOW ?? 0);

/**
 * Reads at most `maxBytes` of `file`, and only if it is a regular file. The file is opened without blocking
 * (a FIFO with no writer opens at once and is then refused) and without following a link in its last
 * component, and checked with `fstat` on the open handle, so what is read is what was checked: no FIFO,
 * device or socket, and no more than `maxBytes` of memory, whatever the file's size. A file with a NUL byte
 * in what was read is reported as binary.
 */
export async function readRegularFile(file: string, maxBytes: number): Promise<RegularFileRead> {
    let handle: fs.FileHandle;
    try {
        handle = await fs.open(file, openFlags);
    } catch (err) {
        return {kind: "unreadable", code: (err as NodeJS.ErrnoException).code ?? "EIO"};
    }
    try {
        const stat = await handle.stat();
        if (!stat.isFile())
            return {kind: "not-regular"};

        const buffer = Buffer.alloc(Math.min(maxBytes, stat.size));
        let filled = 0;
        while (filled < buffer.length) {
            const {bytesRead} = await handle.read(buffer, filled, buffer.length - filled, filled);
            if (bytesRead === 0)
                break;
            filled += bytesRead;
        }
        const bytes = buffer.subarray(0, filled);
        const truncated = stat.size > filled;
        if (bytes.includes(0))
            return {kind: "binary", bytes, size: stat.size, truncated};
        return {kind: "text", text: bytes.toString("utf8"), bytes, size: stat.size, truncated};
    } catch (err) {
        return {kind: "unreadable", code: (err as NodeJS.ErrnoException).code ?? "EIO"};
    } finally {
        await handle.close().catch(() => undefined);
    }
}
