import { causalExample, Rng, type Tokenizer, type TrainExample } from "@openledger/ml";
import type { DatasetRecord } from "../dataset.ts";
import { TrainingError } from "../errors.ts";

export interface SplitDataset {
  train: { record: DatasetRecord; example: TrainExample }[];
  heldOut: { record: DatasetRecord; example: TrainExample }[];
}

/** `<eos> text <eos>` cut to maxSeqLen + 1 tokens, as one next-token example per record. */
export function toExample(tokenizer: Tokenizer, text: string, maxSeqLen: number): TrainExample | null {
  const eos = tokenizer.eosId ?? tokenizer.bosId;
  const ids = tokenizer.encode(text, { addBos: false, allowSpecial: false });
  const seq = eos === undefined ? ids : [eos, ...ids, eos];
  if (seq.length < 2) return null;
  return causalExample(seq.slice(0, maxSeqLen + 1));
}

/**
 * A seeded split: the records are shuffled by the seed and the first `evalFraction` (at least one
 * when the fraction is positive and there are two or more records) are held out.
 */
export function splitDataset(
  tokenizer: Tokenizer,
  records: DatasetRecord[],
  opts: { maxSeqLen: number; evalFraction: number; seed: number },
): SplitDataset {
  const usable = records
    .map((record) => ({ record, example: toExample(tokenizer, record.text, opts.maxSeqLen) }))
    .filter((r): r is { record: DatasetRecord; example: TrainExample } => r.example !== null);
  const order = Array.from(usable.keys());
  const rng = new Rng((opts.seed ^ 0x5eed5eed) >>> 0);
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  let held = Math.round(usable.length * opts.evalFraction);
  if (opts.evalFraction > 0 && usable.length >= 2) held = Math.max(1, held);
  const heldSet = new Set(order.slice(0, held));
  const split: SplitDataset = { train: [], heldOut: [] };
  usable.forEach((u, i) => {
    (heldSet.has(i) ? split.heldOut : split.train).push(u);
  });
  if (split.train.length === 0) {
    throw new TrainingError(
      "empty_dataset",
      "the snapshots hold no text to train on after the held-out split",
    );
  }
  return split;
}
