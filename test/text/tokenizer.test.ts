import { test } from "node:test";
import assert from "node:assert/strict";
import {
  AUDIO_END_ID,
  AUDIO_START_ID,
  BOS_ID,
  BpeTokenizer,
  EOS_ID,
  PAD_ID,
  SPECIAL_TOKENS,
  UNK_ID,
  VIDEO_END_ID,
  VIDEO_START_ID,
  WORD_START,
} from "../../src/text/tokenizer.js";
import { Rng } from "../../src/util/rng.js";

const TEXT = [
  "the cat sat on the mat",
  "the dog sat on the log",
  "that is the thing",
  "there they go then",
  "it's the cat's hat",
];

test("special tokens take the first ids", () => {
  const tok = BpeTokenizer.train(TEXT, { vocabSize: 150 });
  assert.deepEqual(SPECIAL_TOKENS.map((t) => tok.tokenToId(t)), [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.deepEqual([PAD_ID, BOS_ID, EOS_ID, UNK_ID, AUDIO_START_ID, AUDIO_END_ID, VIDEO_START_ID, VIDEO_END_ID], [0, 1, 2, 3, 4, 5, 6, 7]);
});

test("hand-checked first merges: the most frequent pair wins, ties by text", () => {
  // "▁t" and "th" both occur 11 times (the x6, that, thing, there, they, then); "he" 9 times.
  // The tie goes to the smaller pair text: "t h" < "▁ t" ("▁" is U+2581). Then "▁ th" (11).
  const tok = BpeTokenizer.train(TEXT, { vocabSize: 8 + 95 + 3 });
  assert.deepEqual(tok.merges[0], ["t", "h"]);
  assert.deepEqual(tok.merges[1], ["\u2581", "th"]);
  assert.equal(tok.size, 8 + 95 + 3);
  // deterministic
  assert.deepEqual(BpeTokenizer.train(TEXT, { vocabSize: 140 }).merges, BpeTokenizer.train(TEXT, { vocabSize: 140 }).merges);
});

test("encode/decode round-trip, compression, unknown characters", () => {
  const tok = BpeTokenizer.train(TEXT, { vocabSize: 160 });
  for (const s of [...TEXT, "Transcribe speech and video to text.", "zebra's quick jump"]) {
    assert.equal(tok.decode(tok.encode(s)), s);
  }
  const enc = tok.encode("the cat sat on the mat");
  assert.ok(enc.length < "the cat sat on the mat".length, "merges shorten the sequence");
  assert.ok(enc.every((i) => i >= SPECIAL_TOKENS.length));
  // a character outside the alphabet maps to <unk>
  const u = tok.encode("caf\u00e9");
  assert.ok(u.includes(UNK_ID));
  // special ids are skipped on decode unless asked
  assert.equal(tok.decode([BOS_ID, ...tok.encode("the cat"), EOS_ID]), "the cat");
  assert.equal(tok.decode([AUDIO_START_ID, ...tok.encode("hi")], true), "<audio> hi");
});

test("JSON serialisation restores the same tokeniser", () => {
  const tok = BpeTokenizer.train(TEXT, { vocabSize: 140 });
  const json = JSON.stringify(tok.toJSON());
  const back = BpeTokenizer.fromJSON(json);
  assert.deepEqual(back.vocab, tok.vocab);
  assert.deepEqual(back.encode("the thing that sat"), tok.encode("the thing that sat"));
});

test("vocabulary stops growing when no pair is frequent enough", () => {
  const tok = BpeTokenizer.train(["ab ab", "cd"], { vocabSize: 10_000 });
  // only "▁a", "▁ab" can reach frequency 2
  assert.equal(tok.merges.length, 2);
});

test("pieceText: the pieces of any token sequence, split at the word-start marker, give the decoded words", () => {
  const tok = BpeTokenizer.train(TEXT, { vocabSize: 40, minFrequency: 1 });
  const rng = new Rng(4);
  for (let n = 0; n < 200; n++) {
    const ids = Array.from({ length: rng.int(0, 9) }, () => rng.int(0, tok.vocab.length));
    const words = ids.map((id) => tok.pieceText(id)).join("").split(WORD_START).filter((w) => w.length > 0).join(" ");
    assert.equal(words, tok.decode(ids), JSON.stringify(ids));
  }
  assert.equal(tok.pieceText(UNK_ID), "?");
  assert.equal(tok.pieceText(PAD_ID), "");
});
