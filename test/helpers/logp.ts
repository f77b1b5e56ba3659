import { Rng } from "../../src/util/rng.js";

/** Random normalised log-probabilities [T, V] row-major (a CTC head's output), drawn from `rng`. */
export function randomLogp(T: number, V: number, rng: Rng): Float32Array {
  const out = new Float32Array(T * V);
  for (let t = 0; t < T; t++) {
    const z = Array.from({ length: V }, () => 2 * rng.normal());
    const m = Math.max(...z);
    const lse = m + Math.log(z.reduce((a, x) => a + Math.exp(x - m), 0));
    z.forEach((x, v) => (out[t * V + v] = x - lse));
  }
  return out;
}
