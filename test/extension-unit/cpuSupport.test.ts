import assert from "node:assert/strict";
import {lanceCpuProblem} from "../../src/extension/cpuSupport.js";

describe("CPU check before LanceDB loads", () => {
    const cpuinfo = (flags: string) => `processor\t: 0\nmodel name\t: Test CPU\nflags\t\t: ${flags}\n\nprocessor\t: 1\nflags\t\t: ${flags}\n`;

    it("passes a CPU with AVX2 and FMA, and platforms it cannot check", () => {
        assert.equal(lanceCpuProblem("linux", "x64", cpuinfo("fpu sse2 avx fma avx2 bmi2")), null);
        assert.equal(lanceCpuProblem("darwin", "x64", undefined), null);
        assert.equal(lanceCpuProblem("linux", "arm64", cpuinfo("fp asimd")), null);
    });

    it("names what an old x64 CPU lacks, in one sentence", () => {
        assert.match(lanceCpuProblem("linux", "x64", cpuinfo("fpu sse2 avx"))!, /lacks AVX2 and FMA, which Hindsight's log store \(LanceDB\) needs/);
        assert.match(lanceCpuProblem("linux", "x64", cpuinfo("fpu sse2 avx avx2"))!, /lacks FMA,/);
    });
});
