import { test } from "node:test";
import assert from "node:assert/strict";
import { nearestDistance, recitationProbe } from "../../src/eval/recitation.js";

const w = (s: string) => s.split(" ");

test("nearestDistance: word edits to the nearest pool sentence over the hypothesis length", () => {
  const pool = [w("the cat sat on the mat"), w("a dog ran"), w("the cat sat"), w("a dog sat down")];
  assert.equal(nearestDistance(w("the cat sat on a mat"), pool), 1 / 6);
  assert.equal(nearestDistance(w("a dog ran"), pool), 0);
  assert.equal(nearestDistance(w("a dog ran"), pool, 3, "a dog ran"), 2 / 3, "the skipped sentence (its own reference) does not count");
  assert.equal(nearestDistance(w("one two three four five six seven eight"), [w("x")], 3), 1, "no sentence of a near length: 1");
});

test("a model that recites training sentences is nearer to the training pool; one that does not is not", () => {
  const train = ["the old man went home", "she sang a song", "we ate bread at noon", "he left the city"];
  const held = ["the young girl came back", "they read a book", "you drank milk at night", "it rained all day", "the red car stopped"];
  const reciting = [
    { ref: "the young girl came back", hyp: "the old man went home" },
    { ref: "they read a book", hyp: "she sang a song" },
  ];
  const r = recitationProbe(reciting, train, held, { seed: 1 });
  assert.equal(r.poolSize, 4);
  assert.equal(r.utterances, 2);
  assert.equal(r.meanNearestTrain, 0);
  assert.ok(r.meanNearestHeldOut > 0.3);
  assert.equal(r.nearerTrain, 2);
  const faithful = held.slice(0, 4).map((s) => ({ ref: s, hyp: s }));
  const f = recitationProbe(faithful, train, held, { seed: 1 });
  assert.ok(f.meanNearestTrain > 0.3, "exact held-out hypotheses are far from every training sentence");
  assert.deepEqual(recitationProbe(reciting, train, held, { seed: 1 }), r, "seeded: the same pools");
  assert.throws(() => recitationProbe(reciting, [], held), /pool is empty/);
});
