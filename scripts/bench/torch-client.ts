/**
 * Drives a PyTorch step server (scripts/bench/reference_step.py by default, or default_step.py) as a
 * child process, one request at a time, so the benchmark can interleave PyTorch repetitions with the
 * TensorFlow.js ones. The servers share one line protocol: a JSON "ready" line, then "step N" /
 * "matmul N" requests answered by {"ms": [...]} (default_step.py adds "loss": [...]).
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from "node:child_process";
import { createInterface, type Interface } from "node:readline";
import { fileURLToPath } from "node:url";

export const PYTHON = "/usr/bin/python3";
/** The reference transformer step (the default server). */
export const REFERENCE_SCRIPT = fileURLToPath(new URL("./reference_step.py", import.meta.url));
/** The project's default model step (scripts/bench/default-model.ts in PyTorch). */
export const DEFAULT_MODEL_SCRIPT = fileURLToPath(new URL("./default_step.py", import.meta.url));

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

export interface TorchServer {
  /** The Python script (default: reference_step.py). */
  script?: string;
  /** Its command-line arguments. */
  args?: string[];
}

export class TorchClient {
  private readonly proc: ChildProcessWithoutNullStreams;
  private readonly lines: Interface;
  private readonly pending: Array<{ resolve: (line: string) => void; reject: (err: Error) => void }> = [];
  private readonly name: string;
  private stderr = "";
  info!: TorchInfo;
  /** The whole "ready" answer (servers may add fields, e.g. default_step.py's tokens per step). */
  ready: Record<string, unknown> = {};
  /** Losses reported by "step" answers so far, in order (servers that report them). */
  readonly losses: number[] = [];

  private constructor(threads: number, server: TorchServer) {
    const script = server.script ?? REFERENCE_SCRIPT;
    this.name = script.split("/").pop()!;
    // OPENBLAS_NUM_THREADS is what bounds this build's BLAS (BLAS_INFO=generic); OMP for the rest.
    this.proc = spawn(PYTHON, [script, ...(server.args ?? [])], {
      env: { ...process.env, OPENBLAS_NUM_THREADS: String(threads), OMP_NUM_THREADS: String(threads) },
    });
    this.proc.stderr.on("data", (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-2000)));
    this.lines = createInterface({ input: this.proc.stdout });
    this.lines.on("line", (line) => this.pending.shift()?.resolve(line));
    this.proc.on("exit", (code) => {
      const last = this.stderr.trim().split("\n").pop() ?? "";
      for (const p of this.pending.splice(0)) p.reject(new Error(`${this.name} exited (${code})${last ? `: ${last}` : ""}`));
    });
  }

  static async start(threads: number, server: TorchServer = {}): Promise<TorchClient> {
    const c = new TorchClient(threads, server);
    const ready = JSON.parse(await c.next()) as TorchInfo & { ready: boolean };
    c.ready = ready as unknown as Record<string, unknown>;
    c.info = { torch: ready.torch, threads: ready.threads, blas: ready.blas };
    return c;
  }

  private next(): Promise<string> {
    return new Promise((resolve, reject) => this.pending.push({ resolve, reject }));
  }

  private async request(cmd: string): Promise<number[]> {
    const answer = this.next();
    this.proc.stdin.write(cmd + "\n");
    const r = JSON.parse(await answer) as { ms?: number[]; loss?: number[]; error?: string };
    if (!r.ms) throw new Error(`${this.name}: ${r.error ?? "bad answer"}`);
    if (r.loss) this.losses.push(...r.loss);
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
