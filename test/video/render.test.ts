import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng } from "../../src/util/rng.js";
import { drawAppearance, drawRenderParams, mouthTrack, renderMouthVideo, videoTimeline } from "../../src/video/render.js";
import { restyle, validateVideoAugment } from "../../src/video/augment.js";
import { centerCrop, clip, normalizeVideo, randomCrop, timeMask, VIDEO_MEAN, VIDEO_STD } from "../../src/video/transforms.js";
import { phonemeToVisemes, phonemeUnits, visemeKey, visemeTimeline, VISEMES, type TimedViseme, type Viseme } from "../../src/video/visemes.js";

const appearance = drawAppearance(new Rng(1));
const params = drawRenderParams(new Rng(2), appearance);
const seq = (vs: Viseme[], d = 0.16): TimedViseme[] => vs.map((v, i) => ({ viseme: v, start: i * d, end: (i + 1) * d }));

test("visemes merge what lips cannot show and split diphthongs", () => {
  assert.equal(VISEMES.length, 16);
  for (const [a, b] of [["p", "b"], ["b", "m"], ["f", "v"], ["t", "d"], ["d", "n"], ["k", "ɡ"], ["s", "z"], ["ʃ", "ʒ"]]) {
    assert.deepEqual(phonemeToVisemes(a!), phonemeToVisemes(b!), `${a} vs ${b}`);
  }
  assert.notDeepEqual(phonemeToVisemes("p"), phonemeToVisemes("f"));
  assert.deepEqual(phonemeToVisemes("aɪ"), ["AA", "IY"]);
  assert.deepEqual(phonemeUnits("ˈaɪɚ"), ["aɪ", "ɚ"]);
  assert.deepEqual(phonemeUnits("ɑː"), ["ɑː"]);
  // homophenes: "pat" / "bad" / "man" look alike; "pat" / "fat" do not
  assert.equal(visemeKey(["p", "æ", "t"]), visemeKey(["b", "æ", "d"]));
  assert.equal(visemeKey(["p", "æ", "t"]), visemeKey(["m", "æ", "n"]));
  assert.notEqual(visemeKey(["p", "æ", "t"]), visemeKey(["f", "æ", "t"]));
  const unknown = new Set<string>();
  visemeTimeline([{ symbol: "ʘ", start: 0, end: 0.1 }], unknown);
  assert.deepEqual([...unknown], ["ʘ"]);
});

test("rendering is deterministic and sized as asked", () => {
  const input = { visemes: seq(["sil", "PBM", "AA", "IY", "sil"]), appearance, params, numFrames: 20, size: 40 };
  const a = renderMouthVideo(input);
  const b = renderMouthVideo(input);
  assert.equal(a.length, 20 * 40 * 40);
  assert.deepEqual(a, b);
  assert.ok(a.every((v) => v >= 0 && v <= 1));
  const other = renderMouthVideo({ ...input, params: { ...params, seed: params.seed + 1 } });
  assert.notDeepEqual(a, other);
});

test("the mouth opens for AA and closes for PBM (coarticulated, not instantaneous)", () => {
  const still = { ...params, jitterSd: 0, avOffset: 0 };
  const track = mouthTrack(seq(["AA", "PBM", "AA"], 0.2), appearance, still, 15);
  const openAt = (t: number) => track[Math.floor(t * 25)]!.open;
  assert.ok(openAt(0.1) > 0.5, `AA open ${openAt(0.1)}`);
  assert.ok(openAt(0.3) < 0.12, `PBM open ${openAt(0.3)}`);
  // a weakly dominant consonant (KG) between vowels takes their shape
  const k = mouthTrack(seq(["AA", "KG", "AA"], 0.08), appearance, still, 6);
  assert.ok(k[3]!.open > 0.45, `KG between AA ${k[3]!.open}`);
  // rendered pixels: the open mouth has more dark pixels than the closed one
  const frames = renderMouthVideo({ visemes: seq(["AA", "PBM"], 0.4), appearance, params: { ...still, noiseSd: 0 }, numFrames: 20, size: 48 });
  const dark = (f: number) => frames.subarray(f * 48 * 48, (f + 1) * 48 * 48).filter((v) => v < 0.15).length;
  assert.ok(dark(5) > dark(15) + 20, `open ${dark(5)} vs closed ${dark(15)}`);
});

test("normalise, crops and time masking", () => {
  const data = Float32Array.from({ length: 3 * 6 * 6 }, (_, i) => (i % 36) / 36);
  const c = clip(data, 3, 6, 6);
  const n = normalizeVideo(c);
  assert.ok(Math.abs(n.data[0]! - (0 - VIDEO_MEAN) / VIDEO_STD) < 1e-6);
  const cc = centerCrop(c, 4);
  assert.equal(cc.height, 4);
  assert.equal(cc.data[0], c.data[1 * 6 + 1]);
  const rc = randomCrop(c, 4, new Rng(3));
  assert.equal(rc.data.length, 3 * 16);
  assert.deepEqual(randomCrop(c, 4, new Rng(3)).data, rc.data);
  const long = clip(new Float32Array(50 * 4).map((_, i) => i), 50, 2, 2);
  const m = timeMask(long, new Rng(4), { count: 2, maxFrames: 10 });
  assert.ok(m.spans.length > 0);
  for (const [s, e] of m.spans) {
    assert.ok(e - s <= 10);
    const v = m.clip.data[s * 4]!;
    for (let i = s * 4; i < e * 4; i++) assert.equal(m.clip.data[i], v);
  }
  assert.throws(() => clip(new Float32Array(10), 3, 2, 2), /not 3x2x2/);
});

test("restyle: a new virtual face with the same timeline, at the asked rate, reproducibly", () => {
  const original = { appearance, params };
  assert.equal(restyle(original, { rerender: 0 }, new Rng(5)), original);
  const s = restyle(original, { rerender: 1 }, new Rng(5));
  assert.notDeepEqual(s.appearance, appearance);
  assert.deepEqual(restyle(original, { rerender: 1 }, new Rng(5)), s);
  assert.notDeepEqual(restyle(original, { rerender: 1 }, new Rng(6)), s);
  for (const k of ["seed", "avOffset", "jitterSd"] as const) assert.equal(s.params[k], params[k], k);
  const visemes = seq(["sil", "PBM", "AA", "FV", "IY", "sil"]);
  assert.deepEqual(videoTimeline(visemes, s.params), videoTimeline(visemes, params));
  const input = { visemes, numFrames: 24, size: 32 };
  const a = renderMouthVideo({ ...input, ...original });
  const b = renderMouthVideo({ ...input, ...s });
  assert.equal(b.length, a.length);
  assert.notDeepEqual(b, a);
  let hits = 0;
  const rng = new Rng(9);
  for (let i = 0; i < 4000; i++) if (restyle(original, { rerender: 0.3 }, rng) !== original) hits++;
  assert.ok(Math.abs(hits / 4000 - 0.3) < 0.03, `rerendered ${hits} of 4000 at 0.3`);
  assert.throws(() => validateVideoAugment({ rerender: -0.1 }), /probability/);
  assert.throws(() => validateVideoAugment({ rerender: Number.NaN }), /probability/);
});
