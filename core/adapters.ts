/**
 * Software GPU adapters: WebGPU or WebGL that a CPU emulates (SwiftShader, llvmpipe, lavapipe,
 * Microsoft Basic Render Driver, or an adapter that calls itself a fallback). They run correctly
 * but measured 66× slower than wasm in Chromium (bench/report.md), so no `auto` ever picks one;
 * naming the backend explicitly still accepts it.
 */
export const SOFTWARE_ADAPTER = /swiftshader|llvmpipe|lavapipe|softpipe|software|basic render/i;

/** Why an adapter is a software one (to pass it over with), or null for a hardware adapter. */
export function softwareAdapterReason(description: string, isFallbackAdapter = false): string | null {
  if (isFallbackAdapter) return `${description} is a fallback adapter (CPU emulation)`;
  const m = SOFTWARE_ADAPTER.exec(description);
  return m ? `${description} is a software adapter (${m[0]}: CPU emulation)` : null;
}
