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
        // The fields local headers and central entries share, from "version needed" on; central entries start
        // them 2 bytes later (after "version made by").
        const header = (signature: number, length: number, at: number, nameLength: number): Buffer => {
            const b = Buffer.alloc(length);
            b.writeUInt32LE(signature, 0);
            b.writeUInt16LE(20, at);
            b.writeUInt16LE(0x800, at + 2); // UTF-8 names
            b.writeUInt16LE(deflate ? 8 : 0, at + 4);
            b.writeUInt32LE(crc, at + 10);
            b.writeUInt32LE(deflate ? body.length : size, at + 14);
            b.writeUInt32LE(size, at + 18);
            b.writeUInt16LE(nameLength, at + 22);
            return b;
        };
        const local = header(0x04034b50, 30, 4, name.length);
        locals.push(local, name, body);
        for (let i = 0; i < (member.listed ?? 1); i++) {
            // The same member under numbered names, as a wheel's part list would read them.
            const listedName = i === 0 ? name : Buffer.from(member.name.replace(/\d+$/, (n) => String(Number(n) + i).padStart(n.length, "0")), "utf8");
            const entry = header(0x02014b50, 46, 6, listedName.length);
            entry.writeUInt16LE(20, 4);
            entry.writeUInt32LE(offset, 42);
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
