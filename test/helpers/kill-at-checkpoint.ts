/**
 * Runs a training child process and, when asked, SIGKILLs it right after it prints
 * `checkpoint <killAt>`: the kill-and-resume tests compare such a run, resumed, with an
 * uninterrupted one. The child prints one `checkpoint <step>` line per saved checkpoint.
 */
import { spawn, type SpawnOptions } from "node:child_process";

export function runKillableChild(args: string[], options: SpawnOptions, killAt?: number): Promise<{ out: string; killed: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", ...args], { ...options, stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    let killed = false;
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      if (killAt && !killed && out.includes(`checkpoint ${killAt}\n`)) {
        killed = true;
        child.kill("SIGKILL");
      }
    });
    child.on("error", reject);
    child.on("exit", () => resolve({ out, killed }));
  });
}
