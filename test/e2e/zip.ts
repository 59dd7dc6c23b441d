// Lists the entries of a zip file (a VSIX) from its central directory; enough to check what was packaged.
import fs from "node:fs";

export interface ZipEntry {
    name: string;
    size: number;
}

export function listZip(file: string): ZipEntry[] {
    const buf = fs.readFileSync(file);
    // End of central directory: signature 0x06054b50, within the last 64 KiB + 22 bytes.
    let eocd = -1;
    for (let i = buf.length - 22; i >= Math.max(0, buf.length - 65_557); i--)
        if (buf.readUInt32LE(i) === 0x06054b50) {
            eocd = i;
            break;
        }
    if (eocd < 0)
        throw new Error(`${file} is not a zip file (no end of central directory).`);
    const count = buf.readUInt16LE(eocd + 10);
    let offset = buf.readUInt32LE(eocd + 16);
    const entries: ZipEntry[] = [];
    for (let n = 0; n < count; n++) {
        if (buf.readUInt32LE(offset) !== 0x02014b50)
            throw new Error(`${file}: bad central directory entry ${n}.`);
        const size = buf.readUInt32LE(offset + 24);
        const nameLength = buf.readUInt16LE(offset + 28);
        const extraLength = buf.readUInt16LE(offset + 30);
        const commentLength = buf.readUInt16LE(offset + 32);
        entries.push({name: buf.toString("utf8", offset + 46, offset + 46 + nameLength), size});
        offset += 46 + nameLength + extraLength + commentLength;
    }
    return entries;
}
