/**
 * The native CPU backend (Node-API addon over OpenBLAS). Filled in by the native-kernels work;
 * until the addon exists, loading it fails with a clear reason and the backend module falls back.
 */
export interface NativeOptions {
  threads?: number;
}

export async function registerNativeBackend(_options: NativeOptions = {}): Promise<string> {
  throw new Error("native addon not built yet (native/ is not part of this checkout)");
}
