/**
 * CTC prefix scoring for joint CTC/attention decoding (Watanabe et al., 2017, "Hybrid CTC/Attention
 * Architecture for End-to-End Speech Recognition", Algorithm 2): the log-probability, under a CTC
 * output distribution over T frames, that the label sequence *starts with* a prefix h,
 *
 *   ψ(h) = log Σ_{paths π over T frames whose collapsed labels begin with h} Π_t y_t(π_t),
 *
 * and, for a complete hypothesis (h followed by end-of-sentence), the ordinary CTC probability
 * log p(h | x). A beam search adds λ·ψ to (1 − λ)·(attention log-probability) so that a hypothesis
 * the frames cannot explain (a word too many, one left out, a repeat) loses score as it is made.
 *
 * State per prefix g: r^n_t(g) and r^b_t(g), the log-probabilities of the first t+1 frames giving
 * exactly g and ending in a non-blank (n) or a blank (b). Extending g by c (c ≠ blank):
 *
 *   r^n_0(h) = y_0(c) if g is empty, else −∞;          r^b_0(h) = −∞
 *   φ_t = r^b_{t−1}(g) if c = last(g), else logaddexp(r^b_{t−1}(g), r^n_{t−1}(g))
 *   r^n_t(h) = logaddexp(r^n_{t−1}(h), φ_t) + y_t(c);   r^b_t(h) = logaddexp(r^b_{t−1}(h), r^n_{t−1}(h)) + y_t(blank)
 *   ψ(h) = logaddexp(r^n_0(h), logaddexp_{t ≥ 1}(φ_t + y_t(c)))
 *
 * The empty prefix: r^n_t = −∞, r^b_t = Σ_{s ≤ t} y_s(blank). End of sentence: log p(g | x) =
 * logaddexp(r^n_{T−1}(g), r^b_{T−1}(g)). Cost O(T) per extension. Checked against brute-force path
 * enumeration in test/eval/ctc-prefix.test.ts.
 */

/** What a beam search needs of a prefix scorer (eval/decode.ts): a state per prefix, with its score. */
export interface PrefixState {
  readonly score: number;
}

export interface PrefixScorer {
  /** The label no hypothesis may hold (the CTC blank). */
  readonly blank: number;
  initial(): PrefixState;
  extend(g: PrefixState, c: number): PrefixState;
  /** Score of g as the whole label sequence. */
  final(g: PrefixState): number;
  /** Optional: up to n labels this scorer would extend g by, best first (eval/lexicon-prefix.ts), for a beam search to score beside its own candidates. */
  propose?(g: PrefixState, n: number): number[];
}

/** A prefix's forward variables (length T each) and its prefix score ψ. */
export interface CtcPrefixState extends PrefixState {
  readonly rn: Float64Array;
  readonly rb: Float64Array;
  /** ψ of this prefix (0 for the empty prefix: every path starts with it). */
  readonly score: number;
  /** Its last label, or −1 when empty. */
  readonly last: number;
}

/**
 * log(e^a + e^b). Beyond a gap of 40 nats the smaller term changes the sum by less than e^−40 relative
 * (below float64 resolution), so the exp/log1p is skipped: most frame pairs of a peaky CTC are that far
 * apart, and this is the inner loop of every prefix extension.
 */
export function logAdd(a: number, b: number): number {
  const d = a - b;
  if (d > 40 || b === -Infinity) return a;
  if (d < -40 || a === -Infinity) return b;
  return d > 0 ? a + Math.log1p(Math.exp(-d)) : b + Math.log1p(Math.exp(d));
}

export class CtcPrefixScorer implements PrefixScorer {
  readonly T: number;
  /** Per prefix g, φ_t for a label other than last(g): logaddexp(r^b_{t−1}(g), r^n_{t−1}(g)) (index t ≥ 1), shared by its extensions. */
  private readonly phis = new WeakMap<CtcPrefixState, Float64Array>();

  /**
   * `logp`: log-probabilities [T, V] row-major (each row a normalised distribution, e.g. log-softmax
   * output); `blank`: the blank class id.
   */
  constructor(
    private readonly logp: Float32Array,
    readonly V: number,
    readonly blank: number,
  ) {
    if (!(Number.isInteger(V) && V > 1)) throw new Error(`CtcPrefixScorer: V must be an integer > 1, got ${V}`);
    if (logp.length % V !== 0) throw new Error(`CtcPrefixScorer: ${logp.length} log-probabilities are not rows of ${V}`);
    if (!(blank >= 0 && blank < V)) throw new Error(`CtcPrefixScorer: blank ${blank} outside [0, ${V})`);
    this.T = logp.length / V;
    if (this.T === 0) throw new Error("CtcPrefixScorer: no frames");
  }

  private y(t: number, c: number): number {
    return this.logp[t * this.V + c]!;
  }

  /** The empty prefix. */
  initial(): CtcPrefixState {
    const rn = new Float64Array(this.T).fill(-Infinity);
    const rb = new Float64Array(this.T);
    let acc = 0;
    for (let t = 0; t < this.T; t++) rb[t] = acc += this.y(t, this.blank);
    return { rn, rb, score: 0, last: -1 };
  }

  /** φ of g for labels other than its last (the r^b and r^n sum), computed once per prefix. */
  private phiOf(g: CtcPrefixState): Float64Array {
    let phi = this.phis.get(g);
    if (!phi) {
      phi = new Float64Array(this.T);
      for (let t = 1; t < this.T; t++) phi[t] = logAdd(g.rb[t - 1]!, g.rn[t - 1]!);
      this.phis.set(g, phi);
    }
    return phi;
  }

  private checkLabel(c: number): void {
    if (c === this.blank) throw new Error(`CtcPrefixScorer: cannot extend a prefix by the blank (${c})`);
    if (!(c >= 0 && c < this.V)) throw new Error(`CtcPrefixScorer: label ${c} outside [0, ${this.V})`);
  }

  /** g extended by label c (not the blank). */
  extend(prefix: PrefixState, c: number): CtcPrefixState {
    const g = prefix as CtcPrefixState;
    this.checkLabel(c);
    const T = this.T;
    const rn = new Float64Array(T);
    const rb = new Float64Array(T);
    const phis = c === g.last ? undefined : this.phiOf(g);
    rn[0] = g.last === -1 ? this.y(0, c) : -Infinity;
    rb[0] = -Infinity;
    let psi = rn[0]!;
    for (let t = 1; t < T; t++) {
      const phi = phis ? phis[t]! : g.rb[t - 1]!;
      const yc = this.y(t, c);
      rn[t] = logAdd(rn[t - 1]!, phi) + yc;
      rb[t] = logAdd(rb[t - 1]!, rn[t - 1]!) + this.y(t, this.blank);
      psi = logAdd(psi, phi + yc);
    }
    return { rn, rb, score: psi, last: c };
  }

  /**
   * ψ of g extended by c: the number `extend(g, c).score` gives, bit for bit, without the extension's
   * forward variables (a third of the work, no allocation), for searches that prune most extensions
   * by their score (eval/lexicon-prefix.ts).
   */
  extensionScore(prefix: PrefixState, c: number): number {
    const g = prefix as CtcPrefixState;
    this.checkLabel(c);
    const phis = c === g.last ? undefined : this.phiOf(g);
    let psi = g.last === -1 ? this.y(0, c) : -Infinity;
    for (let t = 1; t < this.T; t++) psi = logAdd(psi, (phis ? phis[t]! : g.rb[t - 1]!) + this.y(t, c));
    return psi;
  }

  /** log p(g | x): g is the whole label sequence (end of sentence after it). */
  final(prefix: PrefixState): number {
    const g = prefix as CtcPrefixState;
    return logAdd(g.rn[this.T - 1]!, g.rb[this.T - 1]!);
  }
}

interface WeightedState extends PrefixState {
  readonly parts: readonly PrefixState[];
}

/**
 * A weighted sum Σ w_i · s_i of several scorers' log scores for the same labels: a product of experts
 * (e.g. the LLM's auxiliary sub-word CTC head and the lexicon scorer of eval/lexicon-prefix.ts).
 */
export class WeightedPrefixScorer implements PrefixScorer {
  readonly blank: number;

  constructor(
    private readonly parts: readonly PrefixScorer[],
    private readonly weights: readonly number[],
  ) {
    if (parts.length === 0) throw new Error("WeightedPrefixScorer: no scorers");
    if (weights.length !== parts.length) throw new Error(`WeightedPrefixScorer: ${weights.length} weights for ${parts.length} scorers`);
    if (!weights.every((w) => Number.isFinite(w) && w >= 0)) throw new Error(`WeightedPrefixScorer: weights must be finite and ≥ 0, got ${weights.join(", ")}`);
    this.blank = parts[0]!.blank;
    if (parts.some((p) => p.blank !== this.blank)) throw new Error("WeightedPrefixScorer: the scorers disagree on the blank");
  }

  private of(parts: PrefixState[]): WeightedState {
    return { parts, score: this.sum(parts.map((p) => p.score)) };
  }

  private sum(xs: readonly number[]): number {
    return xs.reduce((a, x, i) => a + (this.weights[i] === 0 ? 0 : this.weights[i]! * x), 0);
  }

  initial(): PrefixState {
    return this.of(this.parts.map((p) => p.initial()));
  }

  extend(g: PrefixState, c: number): PrefixState {
    return this.of(this.parts.map((p, i) => p.extend((g as WeightedState).parts[i]!, c)));
  }

  final(g: PrefixState): number {
    return this.sum(this.parts.map((p, i) => p.final((g as WeightedState).parts[i]!)));
  }

  /** The proposals of the parts that make them (weight > 0), each part's in order, without repeats. */
  propose(g: PrefixState, n: number): number[] {
    const out = new Set<number>();
    this.parts.forEach((p, i) => {
      if (p.propose && this.weights[i]! > 0) for (const c of p.propose((g as WeightedState).parts[i]!, n)) out.add(c);
    });
    return [...out];
  }
}

/**
 * The mean of several scorers' log scores for the same labels (e.g. the CTC heads over an AVSR
 * sample's audio tokens and over its video tokens, each with its own frames): a product of experts.
 */
export class MeanPrefixScorer extends WeightedPrefixScorer {
  constructor(parts: readonly PrefixScorer[]) {
    if (parts.length === 0) throw new Error("MeanPrefixScorer: no scorers");
    super(parts, parts.map(() => 1 / parts.length));
  }
}
