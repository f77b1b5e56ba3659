/**
 * Render-time augmentation for video encoder pretraining: a training clip is drawn again as if a
 * different person had said it. The corpus has 60 training faces and the test split 10 unseen ones;
 * the mouth renderer is ours, so instead of cropping and flipping the same pixels (transforms.ts) the
 * clip can be rendered with a freshly drawn appearance (skin, lip contrast and thickness, mouth width
 * and position, articulation, teeth, blur, sensor noise) and fresh head motion and lighting, from the
 * same distributions the corpus draws its speakers and utterances from (render.ts drawAppearance /
 * drawRenderParams). Every draw is a new virtual speaker, so the encoder sees far more faces than 60.
 *
 * What is kept: the utterance's timeline (viseme boundaries, their jitter seed and the AV offset), so
 * the frame labels and CTC targets taken from the alignment still hold for the re-rendered clip.
 */
import type { Rng } from "../util/rng.js";
import { drawAppearance, drawRenderParams, type RenderParams, type SpeakerAppearance } from "./render.js";

export interface VideoAugmentConfig {
  /** Probability that a training clip is rendered with a new appearance and nuisance (0..1). */
  rerender: number;
}

export const DEFAULT_VIDEO_AUGMENT: VideoAugmentConfig = { rerender: 0.5 };

export function validateVideoAugment(c: VideoAugmentConfig): void {
  if (!(Number.isFinite(c.rerender) && c.rerender >= 0 && c.rerender <= 1)) {
    throw new RangeError(`video augment: rerender must be a probability in [0, 1], got ${c.rerender}`);
  }
}

export interface RenderStyle {
  appearance: SpeakerAppearance;
  params: RenderParams;
}

/**
 * The style to render a training clip with: with probability `rerender` a new appearance and new head,
 * light and noise level (timeline kept), else the speaker's own. Pure in `rng`.
 */
export function restyle(original: RenderStyle, cfg: VideoAugmentConfig, rng: Rng): RenderStyle {
  if (!(rng.next() < cfg.rerender)) return original;
  const appearance = drawAppearance(rng.fork("appearance"));
  const fresh = drawRenderParams(rng.fork("render"), appearance);
  const { seed, avOffset, jitterSd } = original.params;
  return { appearance, params: { ...fresh, seed, avOffset, jitterSd } };
}
