/**
 * Drives scripts/bench/reference_step.py (PyTorch) as a child process, one request at a time, so the
 * benchmark can interleave PyTorch repetitions with the TensorFlow.js ones.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from "node:child_process";
import { createInterface, type Interface } from "node:readline";
import { fileURLToPath } from "node:url";

export const PYTHON = "/usr/bin/python3";
const SCRIPT = fileURLToPath(new URL("./reference_step.py", import.meta.url));

export const TORCH_INSTALL_HINT =
  "install it with: sudo apt-get install python3-torch libopenblas0-pthread (Debian's PyTorch; OpenBLAS makes it ~15x faster)";

/** Why PyTorch cannot be used, or null when `python3 -c "import torch"` works. */
export function torchMissingReason(): string | null {
  const r = spawnSync(PYTHON, ["-c", "import torch"], { encoding: "utf8" });
  if (r.error) return `${PYTHON} not found (${r.error.message})`;
  if (r.status !== 0) return `${PYTHON} cannot import torch (${(r.stderr.trim().split("\n").pop() ?? "").slice(0, 120)})`;
  return null;
}

export interface TorchInfo {
  torch: string;
  threads: number;
  blas: string;
}

export class TorchClient {
  private readonly proc: ChildProcessWithoutNullStreams;
  private readonly lines: Interface;
  private readonly pending: Array<{ resolve: (line: string) => void; reject: (err: Error) => void }> = [];
  info!: TorchInfo;

  private constructor(threads: number) {
    // OPENBLAS_NUM_THREADS is what bounds this build's BLAS (BLAS_INFO=generic); OMP for the rest.
    this.proc = spawn(PYTHON, [SCRIPT], {
      env: { ...process.env, OPENBLAS_NUM_THREADS: String(threads), OMP_NUM_THREADS: String(threads) },
    });
    this.lines = createInterface({ input: this.proc.stdout });
    this.lines.on("line", (line) => this.pending.shift()?.resolve(line));
    this.proc.on("exit", (code) => {
      for (const p of this.pending.splice(0)) p.reject(new Error(`reference_step.py exited (${code})`));
    });
  }

  static async start(threads: number): Promise<TorchClient> {
    const c = new TorchClient(threads);
    const ready = JSON.parse(await c.next()) as TorchInfo & { ready: boolean };
    c.info = { torch: ready.torch, threads: ready.threads, blas: ready.blas };
    return c;
  }

  private next(): Promise<string> {
    return new Promise((resolve, reject) => this.pending.push({ resolve, reject }));
  }

  private async request(cmd: string): Promise<number[]> {
    const answer = this.next();
    this.proc.stdin.write(cmd + "\n");
    const r = JSON.parse(await answer) as { ms?: number[]; error?: string };
    if (!r.ms) throw new Error(`reference_step.py: ${r.error ?? "bad answer"}`);
    return r.ms;
  }

  steps(n: number): Promise<number[]> {
    return this.request(`step ${n}`);
  }

  matmuls(n: number): Promise<number[]> {
    return this.request(`matmul ${n}`);
  }

  close(): void {
    this.proc.stdin.end("quit\n");
    this.lines.close();
  }
}
