/**
 * Checkpoints.
 *
 * Tensor files use the safetensors layout: 8-byte little-endian unsigned header length N, then N bytes
 * of UTF-8 JSON `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}}` (padded
 * with spaces to a multiple of 8), then the raw little-endian tensor bytes, offsets relative to the end
 * of the header. Dtypes written: F32, I32. Linear weights are [in, out] (see models/nn.ts).
 *
 * A checkpoint is a folder `step-<8 digits>/` under the run's `checkpoints/` holding
 *   model.safetensors      trainable parameters (or all, if asked), by dotted name
 *   optimizer.safetensors  AdamW moments as `m.<name>` and `v.<name>`; metadata t = update count
 *   state.json             step, RNG states (sampler, data, dropout...), optimizer config, extra
 *   config.json            the run config (as given)
 *   tokenizer.json         the tokeniser (when given)
 * Writes are atomic: the folder is written under a temporary name and renamed, then `latest.json`
 * (naming the newest folder) is replaced atomically. A kill at any moment leaves the previous
 * checkpoint intact and `latest.json` pointing at a complete folder.
 */
import * as tf from "@tensorflow/tfjs";
import type { Module } from "../models/nn.js";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync, readdirSync, openSync, fsyncSync, closeSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomicSync } from "../util/atomic.js";
import type { RngState } from "../util/rng.js";
import { InputError } from "../util/errors.js";

export type SafeDtype = "F32" | "I32";

export interface RawTensor {
  dtype: SafeDtype;
  shape: number[];
  data: Float32Array | Int32Array;
}

export function encodeSafetensors(tensors: ReadonlyArray<readonly [string, RawTensor]>, metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length) throw new Error(`${name}: shape [${t.shape}] does not match ${t.data.length} values`);
    const bytes = t.data.byteLength;
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  const enc = new TextEncoder();
  while (enc.encode(json).length % 8 !== 0) json += " ";
  const hbytes = enc.encode(json);
  const out = new Uint8Array(8 + hbytes.length + offset);
  const dv = new DataView(out.buffer);
  dv.setBigUint64(0, BigInt(hbytes.length), true);
  out.set(hbytes, 8);
  let pos = 8 + hbytes.length;
  const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
  if (!littleEndian) throw new Error("big-endian hosts are not supported");
  for (const [, t] of tensors) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), pos);
    pos += t.data.byteLength;
  }
  return out;
}

export function decodeSafetensors(bytes: Uint8Array): { tensors: Map<string, RawTensor>; metadata: Record<string, string> } {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(dv.getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as Record<string, unknown>;
  const base = 8 + n;
  const tensors = new Map<string, RawTensor>();
  let metadata: Record<string, string> = {};
  for (const [name, info] of Object.entries(header)) {
    if (name === "__metadata__") {
      metadata = info as Record<string, string>;
      continue;
    }
    const { dtype, shape, data_offsets } = info as { dtype: string; shape: number[]; data_offsets: [number, number] };
    const [b, e] = data_offsets;
    const slice = bytes.slice(base + b, base + e); // copy: aligned, owned
    let data: Float32Array | Int32Array;
    if (dtype === "F32") data = new Float32Array(slice.buffer, 0, (e - b) / 4);
    else if (dtype === "I32") data = new Int32Array(slice.buffer, 0, (e - b) / 4);
    else throw new Error(`${name}: unsupported dtype ${dtype}`);
    tensors.set(name, { dtype: dtype as SafeDtype, shape, data });
  }
  return { tensors, metadata };
}

export function tensorToRaw(t: tf.Tensor): RawTensor {
  if (t.dtype === "float32") return { dtype: "F32", shape: [...t.shape], data: t.dataSync() as Float32Array };
  if (t.dtype === "int32") return { dtype: "I32", shape: [...t.shape], data: t.dataSync() as Int32Array };
  throw new Error(`unsupported dtype ${t.dtype}`);
}

export function rawToTensor(r: RawTensor): tf.Tensor {
  return tf.tensor(r.data, r.shape, r.dtype === "F32" ? "float32" : "int32");
}

/**
 * Loads named raw tensors into a module's parameters (`Module.loadParameters`: names and shapes must
 * match). Errors name `where` (the checkpoint folder or file). With `complete`, every parameter of the
 * module must be among the tensors.
 */
export function assignParams(module: Module, tensors: ReadonlyMap<string, RawTensor>, where: string, o: { complete?: boolean } = {}): void {
  if (o.complete) for (const name of module.parameterMap().keys()) if (!tensors.has(name)) throw new InputError(`${where}: lacks parameter ${name}`);
  const values = new Map([...tensors].map(([k, r]) => [k, rawToTensor(r)] as const));
  try {
    module.loadParameters(values);
  } catch (e) {
    throw new InputError(`${where}: ${(e as Error).message}`);
  } finally {
    tf.dispose([...values.values()]);
  }
}

/** A checkpoint's AdamW moments as tensors, for `AdamW.setState(t, m, v)` (the caller owns them). */
export function momentsOf(ck: Pick<LoadedCheckpoint, "m" | "v">): { m: Map<string, tf.Tensor>; v: Map<string, tf.Tensor> } {
  const toTensors = (x: Map<string, RawTensor>) => new Map([...x].map(([k, r]) => [k, rawToTensor(r)] as const));
  return { m: toTensors(ck.m), v: toTensors(ck.v) };
}

export function saveSafetensorsFile(path: string, tensors: ReadonlyArray<readonly [string, tf.Tensor]>, metadata: Record<string, string> = {}): void {
  writeFileAtomicSync(path, encodeSafetensors(tensors.map(([n, t]) => [n, tensorToRaw(t)] as const), metadata));
}

export function loadSafetensorsFile(path: string): { tensors: Map<string, RawTensor>; metadata: Record<string, string> } {
  return decodeSafetensors(new Uint8Array(readFileSync(path)));
}

// ---- training checkpoints -----------------------------------------------------------------------

export interface CheckpointState {
  /** Updates completed. */
  step: number;
  /** Named generator states (matryoshka sampler, data order, dropout, ...). */
  rng: Record<string, RngState>;
  optimizer: { t: number; config: unknown };
  extra?: Record<string, unknown>;
}

export interface CheckpointContent {
  params: ReadonlyArray<readonly [string, tf.Tensor]>;
  optimizer: { m: ReadonlyMap<string, tf.Tensor>; v: ReadonlyMap<string, tf.Tensor> };
  state: CheckpointState;
  config: unknown;
  tokenizer?: unknown;
}

export interface LoadedCheckpoint {
  dir: string;
  params: Map<string, RawTensor>;
  m: Map<string, RawTensor>;
  v: Map<string, RawTensor>;
  state: CheckpointState;
  config: unknown;
  tokenizer?: unknown;
}

export function checkpointName(step: number): string {
  return `step-${String(step).padStart(8, "0")}`;
}

function fsyncFile(path: string): void {
  try {
    const fd = openSync(path, "r");
    fsyncSync(fd);
    closeSync(fd);
  } catch {
    /* best effort */
  }
}

/**
 * Writes `root/step-XXXXXXXX/` atomically and points `root/latest.json` at it. Keeps the newest
 * `keep` checkpoints (all when keep <= 0). Returns the folder.
 */
export function saveCheckpoint(root: string, c: CheckpointContent, keep = 2): string {
  mkdirSync(root, { recursive: true });
  const name = checkpointName(c.state.step);
  const final = join(root, name);
  const tmp = join(root, `.${name}.${process.pid}.${Date.now()}.tmp`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  const files: Array<[string, string | Uint8Array]> = [
    ["model.safetensors", encodeSafetensors(c.params.map(([n, t]) => [n, tensorToRaw(t)] as const), { format: "omni-avsr-lab", step: String(c.state.step) })],
    [
      "optimizer.safetensors",
      encodeSafetensors(
        [...[...c.optimizer.m].map(([n, t]) => [`m.${n}`, tensorToRaw(t)] as const), ...[...c.optimizer.v].map(([n, t]) => [`v.${n}`, tensorToRaw(t)] as const)],
        { t: String(c.state.optimizer.t) },
      ),
    ],
    ["state.json", JSON.stringify(c.state, null, 1)],
    ["config.json", JSON.stringify(c.config, null, 1)],
  ];
  if (c.tokenizer !== undefined) files.push(["tokenizer.json", JSON.stringify(c.tokenizer)]);
  for (const [f, data] of files) {
    writeFileSync(join(tmp, f), data);
    fsyncFile(join(tmp, f));
  }
  rmSync(final, { recursive: true, force: true });
  renameSync(tmp, final);
  writeFileAtomicSync(join(root, "latest.json"), JSON.stringify({ checkpoint: name, step: c.state.step }));
  if (keep > 0) {
    const all = readdirSync(root).filter((d) => /^step-\d{8}$/.test(d)).sort();
    for (const d of all.slice(0, Math.max(0, all.length - keep))) if (d !== name) rmSync(join(root, d), { recursive: true, force: true });
  }
  removeStaleTemps(root);
  return final;
}

/** Removes the half-written `.step-*.<pid>.<ms>.tmp` folders of processes that no longer run (a run killed mid-write). */
function removeStaleTemps(root: string): void {
  for (const d of readdirSync(root)) {
    const m = /^\.step-\d{8}\.(\d+)\.\d+\.tmp$/.exec(d);
    if (m && !processAlive(Number(m[1]))) rmSync(join(root, d), { recursive: true, force: true });
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The newest complete checkpoint under `root`, or undefined. */
export function latestCheckpoint(root: string): string | undefined {
  const p = join(root, "latest.json");
  if (!existsSync(p)) return undefined;
  const { checkpoint } = JSON.parse(readFileSync(p, "utf8")) as { checkpoint: string };
  const dir = join(root, checkpoint);
  return existsSync(join(dir, "state.json")) ? dir : undefined;
}

export function loadCheckpoint(dir: string): LoadedCheckpoint {
  const params = loadSafetensorsFile(join(dir, "model.safetensors")).tensors;
  const opt = loadSafetensorsFile(join(dir, "optimizer.safetensors")).tensors;
  const m = new Map<string, RawTensor>();
  const v = new Map<string, RawTensor>();
  for (const [k, t] of opt) {
    if (k.startsWith("m.")) m.set(k.slice(2), t);
    else if (k.startsWith("v.")) v.set(k.slice(2), t);
  }
  const state = JSON.parse(readFileSync(join(dir, "state.json"), "utf8")) as CheckpointState;
  const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as unknown;
  const tp = join(dir, "tokenizer.json");
  const tokenizer = existsSync(tp) ? (JSON.parse(readFileSync(tp, "utf8")) as unknown) : undefined;
  return { dir, params, m, v, state, config, tokenizer };
}
