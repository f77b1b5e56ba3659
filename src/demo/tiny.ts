/**
 * The tiny demonstration model of notebook 00 and of the smoke check: a two-layer MLP that learns
 * y = sin(2x) + noise from 256 points, trained with Adam. Small enough for a few seconds on any
 * backend, real enough that the loss must fall.
 */
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../util/rng.js";
import { Progress } from "../util/progress.js";

export interface TinyConfig {
  hidden: number;
  steps: number;
  learningRate: number;
  points: number;
  seed: number;
}

export const TINY_DEFAULT: TinyConfig = { hidden: 64, steps: 300, learningRate: 0.01, points: 256, seed: 0 };

export interface TinyResult {
  losses: Array<{ step: number; loss: number }>;
  msPerStep: number;
}

export async function trainTiny(cfg: Partial<TinyConfig> = {}, log?: (line: string) => void): Promise<TinyResult> {
  const c: TinyConfig = { ...TINY_DEFAULT, ...cfg };
  const rng = new Rng(c.seed);
  const xs = Array.from({ length: c.points }, () => rng.uniform(-2, 2));
  const ys = xs.map((x) => Math.sin(2 * x) + rng.normal(0, 0.05));
  // tf.tidy disposes the initial-value tensors and keeps the variables.
  const init = (rows: number, cols: number) =>
    tf.tidy(() => tf.variable(tf.tensor2d(Array.from({ length: rows * cols }, () => rng.normal(0, Math.sqrt(2 / rows))), [rows, cols])));
  const w1 = init(1, c.hidden);
  const b1 = tf.tidy(() => tf.variable(tf.zeros([c.hidden])));
  const w2 = init(c.hidden, 1);
  const b2 = tf.tidy(() => tf.variable(tf.zeros([1])));
  const x = tf.tensor2d(xs, [c.points, 1]);
  const y = tf.tensor2d(ys, [c.points, 1]);
  const opt = tf.train.adam(c.learningRate);
  const progress = new Progress(c.steps, { label: "tiny", write: log, intervalMs: 500 });
  const losses: TinyResult["losses"] = [];
  const t0 = performance.now();
  for (let step = 1; step <= c.steps; step++) {
    const loss = opt.minimize(() => tf.losses.meanSquaredError(y, tf.relu(x.matMul(w1).add(b1)).matMul(w2).add(b2)), true)!;
    const value = (await loss.data())[0]!;
    loss.dispose();
    losses.push({ step, loss: value });
    progress.update(step, { loss: value });
  }
  const msPerStep = (performance.now() - t0) / c.steps;
  tf.dispose([w1, b1, w2, b2, x, y]);
  opt.dispose();
  return { losses, msPerStep };
}
