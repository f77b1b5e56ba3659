/**
 * Child process of the kill-and-resume test: trains the fixture in RUN_DIR to STEPS steps (resuming
 * from the newest checkpoint if any) and prints "checkpoint <step>" after each save, so the parent can
 * SIGKILL it at a known point.
 */
import { initBackend } from "../../src/backend/index.js";
import { makeSetup } from "./fixture.js";

await initBackend({ warn: () => {} });
const runDir = process.env.RUN_DIR!;
const steps = Number(process.env.STEPS ?? "6");
const { trainer, provider, dispose } = makeSetup({ runDir, steps, dropout: 0.1 });
const resumed = trainer.resume();
process.stdout.write(`resumed ${resumed}\n`);
// SLOW_MS stretches every step so the parent's kill lands mid-run
const slow = Number(process.env.SLOW_MS ?? "0");
const slowed: typeof provider = (step, rng) => {
  const until = Date.now() + slow;
  while (Date.now() < until) {
    /* busy wait */
  }
  return provider(step, rng);
};
trainer.run(slowed, steps, (step) => process.stdout.write(`checkpoint ${step}\n`));
dispose();
process.stdout.write("done\n");
