import {ModelError} from "../errors.js";
import type {GpuChoice} from "../options.js";

/** A GPU backend of llama.cpp that node-llama-cpp ships prebuilt binaries for. */
export type GpuBackend = "cuda" | "vulkan" | "metal";

/**
 * The GPU backends whose drivers and libraries this machine has, best first (node-llama-cpp's own check, the one
 * `gpu: "auto"` uses: CUDA needs the NVIDIA driver and the CUDA runtime, Vulkan the Vulkan loader, Metal an Apple
 * Silicon Mac). Empty on a machine without a GPU. It looks for libraries only; it loads nothing.
 */
export async function supportedGpuBackends(): Promise<GpuBackend[]> {
    const {getLlamaGpuTypes} = await import("node-llama-cpp");
    return (await getLlamaGpuTypes("supported")).filter((type): type is GpuBackend => type !== false);
}

const needs: Record<GpuBackend, string> = {
    cuda: "an NVIDIA driver and the CUDA 12 runtime (libcuda, libcudart, libcublas)",
    vulkan: "a GPU driver with Vulkan and the Vulkan loader (libvulkan.so.1)",
    metal: "an Apple Silicon Mac"
};

/**
 * The error for a GPU backend that was asked for by name where this machine lacks it: what it needs and what to
 * do instead. `setting` names the option in the host's words (`--gpu`, `hindsight.gpu`).
 */
export function gpuUnavailableError(gpu: GpuBackend, setting = "the GPU option", cause?: unknown): ModelError {
    return new ModelError("GPU_UNAVAILABLE",
        `${setting} is "${gpu}", but this machine has no ${gpu === "cuda" ? "CUDA" : gpu === "vulkan" ? "Vulkan" : "Metal"} GPU: it needs ` +
        `${needs[gpu]}. Install that, or set ${setting} to "auto" (a GPU when there is one, else the CPU) or "cpu".`, {cause});
}

/** True for a choice that names one GPU backend (not "auto" or "cpu"). */
export function isForcedGpu(gpu: GpuChoice): gpu is GpuBackend {
    return gpu === "cuda" || gpu === "vulkan" || gpu === "metal";
}
