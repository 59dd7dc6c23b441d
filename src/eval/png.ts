import zlib from "node:zlib";

/** An RGB raster with the few drawing operations the charts need, encoded as PNG (zlib from node). */
export class Raster {
    public readonly pixels: Uint8Array;

    public constructor(public readonly width: number, public readonly height: number, background: RGB = [255, 255, 255]) {
        this.pixels = new Uint8Array(width * height * 3);
        this.fillRect(0, 0, width, height, background);
    }

    public set(x: number, y: number, [r, g, b]: RGB): void {
        if (x < 0 || y < 0 || x >= this.width || y >= this.height)
            return;
        const i = (Math.floor(y) * this.width + Math.floor(x)) * 3;
        this.pixels[i] = r;
        this.pixels[i + 1] = g;
        this.pixels[i + 2] = b;
    }

    public fillRect(x: number, y: number, w: number, h: number, color: RGB): void {
        for (let yy = Math.max(0, Math.round(y)); yy < Math.min(this.height, Math.round(y + h)); yy++)
            for (let xx = Math.max(0, Math.round(x)); xx < Math.min(this.width, Math.round(x + w)); xx++)
                this.set(xx, yy, color);
    }

    public hLine(x0: number, x1: number, y: number, color: RGB, thickness = 1): void {
        this.fillRect(Math.min(x0, x1), y - Math.floor(thickness / 2), Math.abs(x1 - x0) + 1, thickness, color);
    }

    public vLine(x: number, y0: number, y1: number, color: RGB, thickness = 1): void {
        this.fillRect(x - Math.floor(thickness / 2), Math.min(y0, y1), thickness, Math.abs(y1 - y0) + 1, color);
    }

    /** Text in the built-in 5x7 font (upper case), `scale` pixels per font pixel; returns the width drawn. */
    public text(x: number, y: number, text: string, color: RGB, scale = 2): number {
        let cx = x;
        for (const ch of text.toUpperCase()) {
            const glyph = font[ch] ?? font["?"]!;
            glyph.forEach((row, gy) => {
                for (let gx = 0; gx < 5; gx++)
                    if (row[gx] === "#")
                        this.fillRect(cx + gx * scale, y + gy * scale, scale, scale, color);
            });
            cx += 6 * scale;
        }
        return cx - x;
    }

    public static textWidth(text: string, scale = 2): number {
        return text.length * 6 * scale;
    }

    public toPng(): Buffer {
        const stride = this.width * 3;
        const raw = Buffer.alloc((stride + 1) * this.height);
        for (let y = 0; y < this.height; y++) {
            raw[y * (stride + 1)] = 0;
            Buffer.from(this.pixels.buffer, this.pixels.byteOffset + y * stride, stride).copy(raw, y * (stride + 1) + 1);
        }
        const header = Buffer.alloc(13);
        header.writeUInt32BE(this.width, 0);
        header.writeUInt32BE(this.height, 4);
        header[8] = 8; // bit depth
        header[9] = 2; // colour type RGB
        return Buffer.concat([
            Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
            chunk("IHDR", header),
            chunk("IDAT", zlib.deflateSync(raw, {level: 9})),
            chunk("IEND", Buffer.alloc(0))
        ]);
    }
}

export type RGB = readonly [number, number, number];

const crcTable = Array.from({length: 256}, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++)
        c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
});

export function crc32(data: Buffer): number {
    let c = 0xffffffff;
    for (const byte of data)
        c = crcTable[(c ^ byte) & 0xff]! ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, "latin1"), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
}

/** 5x7 glyphs, one string per row ("#" = ink). */
const glyphs: Record<string, string> = {
    "A": ".###. #...# #...# ##### #...# #...# #...#", "B": "####. #...# #...# ####. #...# #...# ####.",
    "C": ".###. #...# #.... #.... #.... #...# .###.", "D": "####. #...# #...# #...# #...# #...# ####.",
    "E": "##### #.... #.... ####. #.... #.... #####", "F": "##### #.... #.... ####. #.... #.... #....",
    "G": ".###. #...# #.... #.### #...# #...# .####", "H": "#...# #...# #...# ##### #...# #...# #...#",
    "I": ".###. ..#.. ..#.. ..#.. ..#.. ..#.. .###.", "J": "..### ...#. ...#. ...#. ...#. #..#. .##..",
    "K": "#...# #..#. #.#.. ##... #.#.. #..#. #...#", "L": "#.... #.... #.... #.... #.... #.... #####",
    "M": "#...# ##.## #.#.# #.#.# #...# #...# #...#", "N": "#...# #...# ##..# #.#.# #..## #...# #...#",
    "O": ".###. #...# #...# #...# #...# #...# .###.", "P": "####. #...# #...# ####. #.... #.... #....",
    "Q": ".###. #...# #...# #...# #.#.# #..#. .##.#", "R": "####. #...# #...# ####. #.#.. #..#. #...#",
    "S": ".#### #.... #.... .###. ....# ....# ####.", "T": "##### ..#.. ..#.. ..#.. ..#.. ..#.. ..#..",
    "U": "#...# #...# #...# #...# #...# #...# .###.", "V": "#...# #...# #...# #...# #...# .#.#. ..#..",
    "W": "#...# #...# #...# #.#.# #.#.# #.#.# .#.#.", "X": "#...# #...# .#.#. ..#.. .#.#. #...# #...#",
    "Y": "#...# #...# .#.#. ..#.. ..#.. ..#.. ..#..", "Z": "##### ....# ...#. ..#.. .#... #.... #####",
    "0": ".###. #...# #..## #.#.# ##..# #...# .###.", "1": "..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###.",
    "2": ".###. #...# ....# ...#. ..#.. .#... #####", "3": "####. ....# ....# .###. ....# ....# ####.",
    "4": "...#. ..##. .#.#. #..#. ##### ...#. ...#.", "5": "##### #.... ####. ....# ....# #...# .###.",
    "6": "..##. .#... #.... ####. #...# #...# .###.", "7": "##### ....# ...#. ..#.. .#... .#... .#...",
    "8": ".###. #...# #...# .###. #...# #...# .###.", "9": ".###. #...# #...# .#### ....# ...#. .##..",
    " ": "..... ..... ..... ..... ..... ..... .....", "-": "..... ..... ..... .###. ..... ..... .....",
    ".": "..... ..... ..... ..... ..... .##.. .##..", ",": "..... ..... ..... ..... .##.. ..#.. .#...",
    ":": "..... .##.. .##.. ..... .##.. .##.. .....", "%": "##... ##..# ...#. ..#.. .#... #..## ...##",
    "(": "...#. ..#.. .#... .#... .#... ..#.. ...#.", ")": ".#... ..#.. ...#. ...#. ...#. ..#.. .#...",
    "[": ".###. .#... .#... .#... .#... .#... .###.", "]": ".###. ...#. ...#. ...#. ...#. ...#. .###.",
    "/": "....# ...#. ...#. ..#.. .#... .#... #....", "@": ".###. #...# #.### #.#.# #.##. #.... .####",
    "=": "..... ..... ##### ..... ##### ..... .....", "+": "..... ..#.. ..#.. ##### ..#.. ..#.. .....",
    "_": "..... ..... ..... ..... ..... ..... #####", "?": ".###. #...# ....# ...#. ..#.. ..... ..#.."
};
const font: Record<string, string[]> = Object.fromEntries(Object.entries(glyphs).map(([k, v]) => [k, v.split(" ")]));
