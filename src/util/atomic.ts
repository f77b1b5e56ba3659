/**
 * Atomic file writes: write to a temporary name in the same folder, then rename. A reader (or a
 * resumed job) sees either the old file or the complete new one, never a half-written file.
 */
import { mkdirSync, renameSync, writeFileSync, rmSync } from "node:fs";
import { mkdir, rename, writeFile, rm } from "node:fs/promises";
import { dirname, basename, join } from "node:path";

function tempName(path: string): string {
  const rand = Math.floor(Math.random() * 0xffffffff).toString(16);
  return join(dirname(path), `.${basename(path)}.${process.pid}.${rand}.tmp`);
}

export function writeFileAtomicSync(path: string, data: string | NodeJS.ArrayBufferView): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = tempName(path);
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

export async function writeFileAtomic(path: string, data: string | NodeJS.ArrayBufferView): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = tempName(path);
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
