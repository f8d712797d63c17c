import { LORA_TARGETS } from "@openledger/ml";
import { InvalidRequestError } from "./errors.ts";

export type LoraTargetName = (typeof LORA_TARGETS)[number];

/** A job's training configuration; its canonical JSON hash is the registry's `trainingConfigHash`. */
export interface TrainingConfig {
  method: "lora";
  rank: number;
  alpha: number;
  targets: LoraTargetName[];
  learningRate: number;
  epochs: number;
  batchSize: number;
  maxSeqLen: number;
  warmupSteps: number;
  weightDecay: number;
  seed: number;
  /** fraction of the examples held out for evaluation (seeded split) */
  evalFraction: number;
}

export const DEFAULT_LEARNING_RATE = 0.003;

export const DEFAULT_CONFIG: TrainingConfig = {
  method: "lora",
  rank: 8,
  alpha: 16,
  targets: ["q_proj", "k_proj", "v_proj", "o_proj"],
  learningRate: DEFAULT_LEARNING_RATE,
  epochs: 3,
  batchSize: 8,
  maxSeqLen: 128,
  warmupSteps: 0,
  weightDecay: 0,
  seed: 0,
  evalFraction: 0.1,
};

/** Inclusive ranges; a value outside is refused before anything runs. */
export const RANGES = {
  rank: [1, 256],
  alpha: [0.001, 4096],
  learningRate: [1e-7, 0.1],
  epochs: [1, 100],
  batchSize: [1, 256],
  maxSeqLen: [8, 32768],
  warmupSteps: [0, 100_000],
  weightDecay: [0, 1],
  seed: [0, 2 ** 32 - 1],
  evalFraction: [0, 0.5],
} as const;

const INTEGER = new Set(["rank", "epochs", "batchSize", "maxSeqLen", "warmupSteps", "seed"]);

function numberIn(key: keyof typeof RANGES, value: unknown, param: string): number {
  const [lo, hi] = RANGES[key];
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new InvalidRequestError("invalid_hyperparameter", `${param} must be a number`, param);
  }
  if (INTEGER.has(key) && !Number.isInteger(value)) {
    throw new InvalidRequestError("invalid_hyperparameter", `${param} must be an integer`, param);
  }
  if (value < lo || value > hi) {
    throw new InvalidRequestError(
      "hyperparameter_out_of_range",
      `${param} must be in ${lo}..${hi}, got ${value}`,
      param,
    );
  }
  return value;
}

/** `"auto"` or absent keeps the default. */
function given(value: unknown): boolean {
  return value !== undefined && value !== null && value !== "auto";
}

/**
 * Reads OpenAI's hyperparameters (`n_epochs`, `batch_size`, `learning_rate_multiplier`, each a number
 * or "auto") plus this service's LoRA fields (`lora_rank`, `lora_alpha`, `lora_targets`,
 * `learning_rate`, `max_seq_len`, `warmup_steps`, `weight_decay`, `eval_fraction`) and `seed`.
 */
export function parseHyperparameters(input: unknown, seed: unknown): TrainingConfig {
  if (input !== undefined && input !== null && (typeof input !== "object" || Array.isArray(input))) {
    throw new InvalidRequestError(
      "invalid_hyperparameter",
      "hyperparameters must be an object",
      "hyperparameters",
    );
  }
  const h = (input ?? {}) as Record<string, unknown>;
  const known = new Set([
    "n_epochs",
    "batch_size",
    "learning_rate_multiplier",
    "learning_rate",
    "lora_rank",
    "lora_alpha",
    "lora_targets",
    "max_seq_len",
    "warmup_steps",
    "weight_decay",
    "eval_fraction",
  ]);
  for (const key of Object.keys(h)) {
    if (!known.has(key)) {
      throw new InvalidRequestError(
        "unknown_hyperparameter",
        `unknown hyperparameter '${key}'; use any of ${[...known].join(", ")}`,
        `hyperparameters.${key}`,
      );
    }
  }
  const c: TrainingConfig = { ...DEFAULT_CONFIG, targets: [...DEFAULT_CONFIG.targets] };
  const p = (k: string) => `hyperparameters.${k}`;
  if (given(h.n_epochs)) c.epochs = numberIn("epochs", h.n_epochs, p("n_epochs"));
  if (given(h.batch_size)) c.batchSize = numberIn("batchSize", h.batch_size, p("batch_size"));
  if (given(h.learning_rate) && given(h.learning_rate_multiplier)) {
    throw new InvalidRequestError(
      "invalid_hyperparameter",
      "give learning_rate or learning_rate_multiplier, not both",
      p("learning_rate"),
    );
  }
  if (given(h.learning_rate)) c.learningRate = numberIn("learningRate", h.learning_rate, p("learning_rate"));
  if (given(h.learning_rate_multiplier)) {
    const m = h.learning_rate_multiplier;
    if (typeof m !== "number" || !(m > 0)) {
      throw new InvalidRequestError(
        "invalid_hyperparameter",
        "learning_rate_multiplier must be a positive number",
        p("learning_rate_multiplier"),
      );
    }
    c.learningRate = numberIn("learningRate", m * DEFAULT_LEARNING_RATE, p("learning_rate_multiplier"));
  }
  if (given(h.lora_rank)) c.rank = numberIn("rank", h.lora_rank, p("lora_rank"));
  if (given(h.lora_alpha)) c.alpha = numberIn("alpha", h.lora_alpha, p("lora_alpha"));
  else c.alpha = c.rank * 2;
  if (given(h.max_seq_len)) c.maxSeqLen = numberIn("maxSeqLen", h.max_seq_len, p("max_seq_len"));
  if (given(h.warmup_steps)) c.warmupSteps = numberIn("warmupSteps", h.warmup_steps, p("warmup_steps"));
  if (given(h.weight_decay)) c.weightDecay = numberIn("weightDecay", h.weight_decay, p("weight_decay"));
  if (given(h.eval_fraction)) c.evalFraction = numberIn("evalFraction", h.eval_fraction, p("eval_fraction"));
  if (given(h.lora_targets)) {
    const t = h.lora_targets;
    if (!Array.isArray(t) || t.length === 0) {
      throw new InvalidRequestError(
        "invalid_hyperparameter",
        "lora_targets must be a non-empty array",
        p("lora_targets"),
      );
    }
    for (const name of t) {
      if (!(LORA_TARGETS as readonly unknown[]).includes(name)) {
        throw new InvalidRequestError(
          "invalid_hyperparameter",
          `unknown LoRA target '${String(name)}'; use any of ${LORA_TARGETS.join(", ")}`,
          p("lora_targets"),
        );
      }
    }
    c.targets = [...new Set(t as LoraTargetName[])].sort(
      (a, b) => LORA_TARGETS.indexOf(a) - LORA_TARGETS.indexOf(b),
    );
  }
  if (given(seed)) c.seed = numberIn("seed", seed, "seed");
  return c;
}

/** The OpenAI view of a config (`hyperparameters` of a job object), with the LoRA fields beside. */
export function hyperparametersView(c: TrainingConfig): Record<string, unknown> {
  return {
    n_epochs: c.epochs,
    batch_size: c.batchSize,
    learning_rate_multiplier: c.learningRate / DEFAULT_LEARNING_RATE,
    learning_rate: c.learningRate,
    lora_rank: c.rank,
    lora_alpha: c.alpha,
    lora_targets: c.targets,
    max_seq_len: c.maxSeqLen,
    warmup_steps: c.warmupSteps,
    weight_decay: c.weightDecay,
    eval_fraction: c.evalFraction,
  };
}
