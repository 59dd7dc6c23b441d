import fs from "node:fs";

/**
 * LanceDB's prebuilt native code for x64 Linux uses AVX2 and FMA; on a CPU without them it dies with an illegal
 * instruction, which would take the whole extension host down. So the store is opened only after this check,
 * and such a CPU gets one clear message instead. Other platforms are not checked (no cheap, reliable source).
 */
export function lanceCpuProblem(platform: string, arch: string, cpuinfo: string | undefined): string | null {
    if (platform !== "linux" || arch !== "x64" || cpuinfo == null)
        return null;
    const flagsLine = cpuinfo.split("\n").find((line) => /^flags\s*:/.test(line));
    if (flagsLine == null)
        return null;
    const flags = new Set(flagsLine.replace(/^flags\s*:/, "").trim().split(/\s+/));
    const missing = ["avx2", "fma"].filter((flag) => !flags.has(flag));
    return missing.length === 0 ? null
        : `This CPU lacks ${missing.map((f) => f.toUpperCase()).join(" and ")}, which Hindsight's log store (LanceDB) needs, so Hindsight cannot run on this machine.`;
}

export function currentLanceCpuProblem(): string | null {
    let cpuinfo: string | undefined;
    try {
        cpuinfo = process.platform === "linux" ? fs.readFileSync("/proc/cpuinfo", "utf8") : undefined;
    } catch {
        cpuinfo = undefined;
    }
    return lanceCpuProblem(process.platform, process.arch, cpuinfo);
}

export class CpuUnsupportedError extends Error {
    public readonly code = "CPU_UNSUPPORTED";

    public constructor(message: string) {
        super(message);
        this.name = "CpuUnsupportedError";
    }
}
