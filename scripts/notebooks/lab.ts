/**
 * Starts a Jupyter notebook server on localhost with the repo-local tslab kernel, opened on notebooks/.
 * Used by `npm run lab` and by the lab test (which talks to it through its REST API).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import { join } from "node:path";
import { ensureKernel, ensureLibraryBuilt, jupyterEnv } from "./runner.js";
import { repoRoot } from "../../src/util/paths.js";

export interface Lab {
  url: string;
  baseUrl: string;
  port: number;
  token: string;
  process: ChildProcess;
  /** The last lines the server (and the kernels it started) printed: for error messages. */
  log(): string;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface LabOptions {
  port?: number;
  token?: string;
  /** Seconds to wait for the server to answer. */
  startTimeoutS?: number;
  log?: (line: string) => void;
}

export async function startLab(o: LabOptions = {}): Promise<Lab> {
  ensureKernel();
  ensureLibraryBuilt();
  const port = o.port ?? (await freePort());
  const token = o.token ?? randomBytes(16).toString("hex");
  const child = spawn(
    "jupyter",
    [
      "notebook",
      "--no-browser",
      "--ip=127.0.0.1",
      `--port=${port}`,
      "--port-retries=0",
      `--notebook-dir=${join(repoRoot(), "notebooks")}`,
      `--NotebookApp.token=${token}`,
      "--NotebookApp.open_browser=False",
      "--MappingKernelManager.default_kernel_name=tslab",
      // CI and these machines run as root; Jupyter refuses that unless told.
      ...(process.getuid?.() === 0 ? ["--allow-root"] : []),
    ],
    { env: jupyterEnv(), stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  const onData = (d: Buffer) => {
    output += d.toString();
    for (const line of d.toString().split("\n")) if (line.trim()) o.log?.(line);
  };
  child.stdout!.on("data", onData);
  child.stderr!.on("data", onData);
  let exited = false;
  child.on("exit", () => (exited = true));

  const baseUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (o.startTimeoutS ?? 60) * 1000;
  for (;;) {
    if (exited) throw new Error(`jupyter notebook exited before answering on port ${port}:\n${output.slice(-2000)}`);
    try {
      const res = await fetch(`${baseUrl}/api?token=${token}`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill("SIGTERM");
      throw new Error(`jupyter notebook did not answer on ${baseUrl} within ${o.startTimeoutS ?? 60} s:\n${output.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }

  const stop = async () => {
    if (exited) return;
    const done = new Promise<void>((r) => child.on("exit", () => r()));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
    await done;
    clearTimeout(timer);
  };
  return { url: `${baseUrl}/tree?token=${token}`, baseUrl, port, token, process: child, log: () => output.slice(-4000), stop };
}
