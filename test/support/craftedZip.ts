/**
 * Test support: zip archives that lie, to show the zip reader refuses them. Each member is written once (local
 * header and data) and listed `listed` times in the central directory; its declared size and CRC can be set to
 * anything. Not a general zip writer: no ZIP64, no data descriptors, no timestamps.
 */
import zlib from "node:zlib";

export interface CraftedMember {
    name: string;
    /** The member's real uncompressed bytes. */
    data: Buffer;
    /** Deflate the data (method 8). Defaults to true. */
    deflate?: boolean;
    /** The size the headers declare. Defaults to the real size. */
    declaredSize?: number;
    /** How many central-directory entries point at this member. Defaults to 1. */
    listed?: number;
}

export function craftZip(members: readonly CraftedMember[]): Buffer {
    const locals: Buffer[] = [];
    const central: Buffer[] = [];
    let offset = 0;
    for (const member of members) {
        const deflate = member.deflate ?? true;
        const body = deflate ? zlib.deflateRawSync(member.data, {level: 9}) : member.data;
        const name = Buffer.from(member.name, "utf8");
        const crc = zlib.crc32(member.data);
        const size = member.declaredSize ?? member.data.length;
        const header = (signature: number, length: number): Buffer => {
            const b = Buffer.alloc(length);
            b.writeUInt32LE(signature, 0);
            return b;
        };
        const local = header(0x04034b50, 30);
        local.writeUInt16LE(20, 4);
        local.writeUInt16LE(0x800, 6);
        local.writeUInt16LE(deflate ? 8 : 0, 8);
        local.writeUInt32LE(crc, 14);
        local.writeUInt32LE(deflate ? body.length : size, 18);
        local.writeUInt32LE(size, 22);
        local.writeUInt16LE(name.length, 26);
        locals.push(local, name, body);
        for (let i = 0; i < (member.listed ?? 1); i++) {
            const entry = header(0x02014b50, 46);
            entry.writeUInt16LE(20, 4);
            entry.writeUInt16LE(20, 6);
            entry.writeUInt16LE(0x800, 8);
            entry.writeUInt16LE(deflate ? 8 : 0, 10);
            entry.writeUInt32LE(crc, 16);
            entry.writeUInt32LE(deflate ? body.length : size, 20);
            entry.writeUInt32LE(size, 24);
            entry.writeUInt32LE(offset, 42);
            // The same member under numbered names, as a wheel's part list would read them.
            const listedName = i === 0 ? name : Buffer.from(member.name.replace(/\d+$/, (n) => String(Number(n) + i).padStart(n.length, "0")), "utf8");
            entry.writeUInt16LE(listedName.length, 28);
            central.push(entry, listedName);
        }
        offset += local.length + name.length + body.length;
    }
    const directory = Buffer.concat(central);
    const end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0);
    const count = members.reduce((sum, member) => sum + (member.listed ?? 1), 0);
    end.writeUInt16LE(count, 8);
    end.writeUInt16LE(count, 10);
    end.writeUInt32LE(directory.length, 12);
    end.writeUInt32LE(offset, 16);
    return Buffer.concat([...locals, directory, end]);
}
