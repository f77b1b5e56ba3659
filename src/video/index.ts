/**
 * Video: visemes, the deterministic mouth renderer, and clip transforms. Clips are Float32Array
 * [T, H, W] row-major in [0, 1] at 25 fps, wrapped as { data, frames, height, width }.
 *
 *   VISEMES, VISEME_TARGETS                   16 classes and their articulatory targets/dominance
 *   phonemeToVisemes(symbol) / visemeTimeline(timedPhonemes) / visemeKey(phonemes)
 *   renderMouthVideo({ visemes, appearance, params, numFrames, size }) -> Float32Array [T, size, size]
 *   mouthTrack(visemes, appearance, params, numFrames) -> MouthState[]   (the articulation per frame)
 *   drawAppearance(rng) / drawRenderParams(rng, appearance)
 *   normalizeVideo(clip, mean = 0.421, std = 0.165) / centerCrop(clip, size) / randomCrop(clip, size, rng)
 *   timeMask(clip, rng, { count, maxFrames, maxFraction }) -> { clip, spans } / flipVideo(clip)
 *   restyle(original, { rerender }, rng) -> RenderStyle   (a new virtual face for a training clip)
 */
export {
  VISEMES,
  VISEME_TARGETS,
  phonemeUnits,
  phonemeToVisemes,
  visemeTimeline,
  visemeKey,
  type Viseme,
  type MouthTarget,
  type TimedViseme,
} from "./visemes.js";
export {
  FPS,
  renderMouthVideo,
  mouthTrack,
  mouthStateAt,
  videoTimeline,
  drawAppearance,
  drawRenderParams,
  type SpeakerAppearance,
  type RenderParams,
  type MouthState,
  type RenderInput,
} from "./render.js";
export {
  VIDEO_MEAN,
  VIDEO_STD,
  clip,
  normalizeVideo,
  cropVideo,
  centerCrop,
  randomCrop,
  flipVideo,
  timeMask,
  type Clip,
} from "./transforms.js";
export {
  DEFAULT_VIDEO_AUGMENT,
  restyle,
  validateVideoAugment,
  type RenderStyle,
  type VideoAugmentConfig,
} from "./augment.js";
