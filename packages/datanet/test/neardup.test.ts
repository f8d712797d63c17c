import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { mulberry32 as seeded } from "@openledger/common";
import { MinHasher } from "../src/minhash.ts";
import { NearDupIndex } from "../src/neardup.ts";
import { wordnetDictPath } from "../src/wordnet.ts";

const glosses = readFileSync(join(wordnetDictPath(), "data.noun"), "utf8")
  .split("\n")
  .filter((l) => /^\d{8} /.test(l))
  .map((l) => l.slice(l.indexOf(" | ") + 3).trim());

describe("near-duplicate detection (MinHash + LSH)", () => {
  test("signatures are deterministic and seed-dependent", () => {
    const a = new MinHasher();
    const b = new MinHasher();
    const text = "the quick brown fox jumps over the lazy dog";
    assert.deepEqual(a.signature(text), b.signature(text));
    const other = new MinHasher({ ...a.params, seed: 99 });
    assert.notDeepEqual(a.signature(text), other.signature(text));
    assert.equal(a.signature("too short"), null);
  });

  test("planted paraphrases are caught, unrelated texts are not", () => {
    const rnd = seeded(20260127);
    const pick = () => glosses[Math.floor(rnd() * glosses.length)];
    const doc = () => {
      let d = "";
      while (d.split(" ").length < 70) d += `${pick()}. `;
      return d.trim();
    };
    const vocab = glosses.slice(0, 3000).join(" ").split(/\s+/);
    const paraphrase = (d: string) => {
      const w = d.split(" ");
      for (let k = 0; k < 5; k++) w[Math.floor(rnd() * w.length)] = vocab[Math.floor(rnd() * vocab.length)];
      w.splice(Math.floor(rnd() * w.length), 1);
      return w.join(" ").replace(/\. /, ", and ");
    };
    const index = new NearDupIndex();
    const corpus = Array.from({ length: 1500 }, doc);
    for (const [i, d] of corpus.entries()) index.add(1n, BigInt(i + 1), 0, index.hasher.signature(d)!);
    const planted = Array.from({ length: 200 }, (_, k) => ({
      text: paraphrase(corpus[k * 7]),
      source: BigInt(k * 7 + 1),
    }));
    const unrelated = Array.from({ length: 200 }, doc);
    let tp = 0;
    let fn = 0;
    let fp = 0;
    for (const p of planted) {
      const m = index.find(1n, [index.hasher.signature(p.text)]);
      if (m && m.contributionId === p.source) tp++;
      else fn++;
    }
    for (const u of unrelated) if (index.find(1n, [index.hasher.signature(u)])) fp++;
    const precision = tp / Math.max(1, tp + fp);
    const recall = tp / (tp + fn);
    console.log(
      `near-dup: planted=${planted.length} unrelated=${unrelated.length} tp=${tp} fn=${fn} fp=${fp}`,
    );
    console.log(`near-dup: precision=${precision.toFixed(3)} recall=${recall.toFixed(3)}`);
    assert.ok(recall >= 0.95, `recall ${recall}`);
    assert.ok(precision >= 0.95, `precision ${precision}`);
    // another Datanet's corpus never matches
    assert.equal(index.find(2n, [index.hasher.signature(corpus[0])]), null);
  });

  test("a removed (rejected) contribution no longer matches", () => {
    const index = new NearDupIndex();
    const text = glosses.slice(100, 110).join(". ");
    index.add(1n, 42n, 0, index.hasher.signature(text)!);
    assert.equal(index.find(1n, [index.hasher.signature(text)])?.contributionId, 42n);
    index.remove(1n, 42n);
    assert.equal(index.find(1n, [index.hasher.signature(text)]), null);
  });
});
