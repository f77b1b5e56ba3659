/**
 * Worker thread of the corpus generator: receives a list of utterance jobs, makes and writes each one,
 * and reports every finished id (or the first error, naming the utterance).
 */
import { parentPort, workerData } from "node:worker_threads";
import { initAudio } from "../audio/dsp.js";
import type { CorpusConfig } from "./config.js";
import type { PlannedUtterance } from "./plan.js";
import type { Speaker } from "./speakers.js";
import { EspeakSynth } from "./tts.js";
import { makeUtterance, writeUtterance } from "./utterance.js";

export interface WorkerJob {
  dir: string;
  config: CorpusConfig;
  speakers: Speaker[];
  utterances: PlannedUtterance[];
}

export type WorkerMessage = { type: "done"; id: string } | { type: "error"; id: string; message: string } | { type: "finished" };

async function main(): Promise<void> {
  const job = workerData as WorkerJob;
  const port = parentPort!;
  await initAudio();
  const synth = await EspeakSynth.create();
  const speakers = new Map(job.speakers.map((s) => [s.id, s]));
  for (const u of job.utterances) {
    try {
      const { audio, align } = makeUtterance(synth, u, speakers.get(u.speaker)!, job.config);
      writeUtterance(job.dir, audio, align);
      port.postMessage({ type: "done", id: u.id } satisfies WorkerMessage);
    } catch (err) {
      port.postMessage({ type: "error", id: u.id, message: (err as Error).stack ?? String(err) } satisfies WorkerMessage);
      return;
    }
  }
  port.postMessage({ type: "finished" } satisfies WorkerMessage);
}

void main();
