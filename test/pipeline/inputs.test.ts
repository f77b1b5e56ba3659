/**
 * Run inputs (pipeline/inputs.ts): a run folder trained on other encoder weights is refused, and at
 * evaluation the refusal names the stored encoder folder the run was trained on.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkRunInputs, encoderWithHash, weightsHash } from "../../src/pipeline/inputs.js";
import { encoderOutDir } from "../../src/pretrain/encoders/index.js";
import { ensureSmokeModels } from "../helpers/smoke-models.js";

before(async () => {
  await ensureSmokeModels();
});

test("encoderWithHash finds the shipped or experiment encoder folder whose weights have the hash, and nothing for an unknown one", () => {
  const root = mkdtempSync(join(tmpdir(), "omni-inputs-"));
  const put = (dir: string, bytes: number[]) => {
    mkdirSync(join(root, dir), { recursive: true });
    writeFileSync(join(root, dir, "encoder.safetensors"), Buffer.from(bytes));
    return weightsHash(join(root, dir, "encoder.safetensors"));
  };
  const shipped = put("encoders/smoke/video", [1, 2, 3]);
  const experiment = put("experiments/video-stage-2", [4, 5, 6]);
  mkdirSync(join(root, "experiments", "empty"));
  assert.notEqual(shipped, experiment);
  assert.equal(encoderWithHash(shipped, root), join(root, "encoders/smoke/video"));
  assert.equal(encoderWithHash(experiment, root), join(root, "experiments/video-stage-2"));
  assert.equal(encoderWithHash("0000000000000000", root), undefined);
  assert.equal(encoderWithHash(shipped, join(root, "missing")), undefined);
  rmSync(root, { recursive: true, force: true });
});

test("checkRunInputs: training says to delete the folder; evaluation names where the run's encoder is kept", () => {
  const dir = mkdtempSync(join(tmpdir(), "omni-inputs-run-"));
  const shipped = weightsHash(join(encoderOutDir("smoke", "video"), "encoder.safetensors"));
  writeFileSync(join(dir, "inputs.json"), JSON.stringify({ corpus: "c", videoEncoder: shipped, lm: "l" }));
  const now = { corpus: "c", videoEncoder: "0123456789abcdef", lm: "l" };
  assert.throws(() => checkRunInputs(dir, now), /videoEncoder: [0-9a-f]{16} -> 0123456789abcdef\); delete the folder/);
  assert.throws(() => checkRunInputs(dir, now, "eval"), /its video encoder is checkpoints\/encoders\/smoke\/video: copy its config\.json and encoder\.safetensors/);
  writeFileSync(join(dir, "inputs.json"), JSON.stringify({ corpus: "c", videoEncoder: "ffffffffffffffff", lm: "l" }));
  assert.throws(() => checkRunInputs(dir, now, "eval"), /evaluate it with the checkpoints it was trained on/);
  checkRunInputs(dir, { ...now, videoEncoder: "ffffffffffffffff" }, "eval");
  rmSync(dir, { recursive: true, force: true });
});
