// LoRA adapters on disk: PEFT (adapter_config.json + adapter_model.safetensors) and llama.cpp GGUF adapters.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FormatError } from "./errors.ts";
import { GgufFile } from "./gguf-read.ts";
import { gguf } from "./gguf-values.ts";
import { type GgufTensorInput, writeGguf } from "./gguf-write.ts";
import { checkArchitecture, expectedShapes, type LlamaConfig, type Weights } from "./model-config.ts";
import { SafetensorsFile, writeSafetensors } from "./safetensors.ts";
import {
  ggufToHfName,
  hfToGgufName,
  permuteRowsForGguf,
  unpermuteRowsFromGguf,
  usesPairwiseRope,
} from "./tensor-names.ts";

export const LORA_TARGETS = [
  "q_proj",
  "k_proj",
  "v_proj",
  "o_proj",
  "gate_proj",
  "up_proj",
  "down_proj",
] as const;

/**
 * A LoRA adapter as exchanged with files. Weights are keyed by the base module plus PEFT's suffix:
 * "model.layers.0.self_attn.q_proj.lora_A.weight" is A with shape [rank, in],
 * "model.layers.0.self_attn.q_proj.lora_B.weight" is B with shape [out, rank]; the update is (alpha/rank)·B·A.
 */
export interface LoraAdapterFile {
  rank: number;
  alpha: number;
  targetModules: string[];
  weights: Weights;
  baseModel?: string;
}

const PEFT_PREFIX = "base_model.model.";
const pairName = /^(model\.layers\.\d+\.(?:self_attn|mlp)\.(\w+))\.lora_([AB])\.weight$/;

/** Check every pair against the base model's shapes; errors name the tensor and both shapes. */
export function checkAdapterShapes(adapter: LoraAdapterFile, config: LlamaConfig): void {
  const base = expectedShapes(config);
  for (const [name, t] of adapter.weights) {
    const m = pairName.exec(name);
    if (!m) throw new FormatError(`adapter tensor '${name}' is not a LoRA A/B weight of a decoder layer`);
    const shape = base.get(`${m[1]}.weight`);
    if (!shape)
      throw new FormatError(`adapter tensor '${name}' targets '${m[1]}', which the base model lacks`);
    const want = m[3] === "A" ? [adapter.rank, shape[1]] : [shape[0], adapter.rank];
    if (t.shape.join() !== want.join() || t.data.length !== want[0] * want[1]) {
      throw new FormatError(
        `adapter tensor '${name}' has shape [${t.shape.join(", ")}] but the base model needs [${want.join(", ")}]`,
      );
    }
    const other = `${m[1]}.lora_${m[3] === "A" ? "B" : "A"}.weight`;
    if (!adapter.weights.has(other)) throw new FormatError(`adapter has '${name}' without '${other}'`);
  }
}

export function writePeftAdapter(dir: string, adapter: LoraAdapterFile): void {
  mkdirSync(dir, { recursive: true });
  const config = {
    peft_type: "LORA",
    task_type: "CAUSAL_LM",
    r: adapter.rank,
    lora_alpha: adapter.alpha,
    target_modules: adapter.targetModules,
    lora_dropout: 0,
    bias: "none",
    fan_in_fan_out: false,
    inference_mode: true,
    base_model_name_or_path: adapter.baseModel ?? null,
  };
  writeFileSync(join(dir, "adapter_config.json"), `${JSON.stringify(config, null, 2)}\n`);
  const tensors: Weights = new Map();
  for (const [name, t] of adapter.weights) tensors.set(PEFT_PREFIX + name, t);
  writeSafetensors(join(dir, "adapter_model.safetensors"), tensors, { metadata: { format: "pt" } });
}

export function readPeftAdapter(dir: string): LoraAdapterFile {
  const configPath = join(dir, "adapter_config.json");
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(readFileSync(configPath, "utf8"));
  } catch (err) {
    throw new FormatError(`${configPath}: cannot read adapter config (${(err as Error).message})`);
  }
  if (json.peft_type !== "LORA")
    throw new FormatError(`${configPath}: peft_type '${String(json.peft_type)}' is not LORA`);
  if (typeof json.r !== "number" || typeof json.lora_alpha !== "number") {
    throw new FormatError(`${configPath}: 'r' and 'lora_alpha' must be numbers`);
  }
  if (json.use_dora === true) throw new FormatError(`${configPath}: DoRA adapters are not supported`);
  if (json.bias !== undefined && json.bias !== "none") {
    throw new FormatError(`${configPath}: bias '${String(json.bias)}' is not supported (only "none")`);
  }
  for (const key of ["rank_pattern", "alpha_pattern"]) {
    const v = json[key];
    if (v && typeof v === "object" && Object.keys(v).length > 0) {
      throw new FormatError(`${configPath}: per-module '${key}' is not supported`);
    }
  }
  // rsLoRA scales by alpha/sqrt(r); the engine scales by alpha/r, so fold sqrt(r) into alpha.
  const alpha = json.use_rslora === true ? json.lora_alpha * Math.sqrt(json.r) : json.lora_alpha;
  const file = SafetensorsFile.open(join(dir, "adapter_model.safetensors"));
  const weights: Weights = new Map();
  try {
    for (const t of file.tensors) {
      if (!t.name.startsWith(PEFT_PREFIX))
        throw new FormatError(`${file.label}: tensor '${t.name}' lacks '${PEFT_PREFIX}'`);
      weights.set(t.name.slice(PEFT_PREFIX.length), file.readTensor(t.name));
    }
  } finally {
    file.close();
  }
  const targets = json.target_modules;
  return {
    rank: json.r,
    alpha,
    targetModules: Array.isArray(targets) ? targets.map(String) : [...modulesOf(weights)],
    weights,
    baseModel: typeof json.base_model_name_or_path === "string" ? json.base_model_name_or_path : undefined,
  };
}

function modulesOf(weights: Weights): Set<string> {
  const mods = new Set<string>();
  for (const name of weights.keys()) {
    const m = pairName.exec(name);
    if (m) mods.add(m[2]);
  }
  return mods;
}

/**
 * Write the adapter as a llama.cpp GGUF LoRA: general.type "adapter", tensors "blk.N.attn_q.weight.lora_a"
 * with ggml shape [in, rank] and ".lora_b" with [rank, out]; B's q/k rows follow llama.cpp's rope order.
 */
export function writeGgufLora(
  path: string,
  adapter: LoraAdapterFile,
  config: LlamaConfig,
  name = "openledger-lora",
) {
  checkAdapterShapes(adapter, config);
  const metadata = new Map([
    ["general.architecture", gguf.str(config.architecture)],
    ["general.type", gguf.str("adapter")],
    ["general.name", gguf.str(name)],
    ["adapter.type", gguf.str("lora")],
    ["adapter.lora.alpha", gguf.f32(adapter.alpha)],
  ]);
  const tensors: GgufTensorInput[] = [];
  for (const [hf, t] of [...adapter.weights].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const m = pairName.exec(hf)!;
    let data = t.data;
    if (m[3] === "B" && usesPairwiseRope(config.architecture) && /(q|k)_proj$/.test(m[1])) {
      data = permuteRowsForGguf(data, t.shape[0], config.headDim);
    }
    tensors.push({
      name: `${hfToGgufName(`${m[1]}.weight`)}.lora_${m[3].toLowerCase()}`,
      shape: t.shape,
      data,
    });
  }
  writeGguf(path, { metadata, tensors });
}

export function readGgufLora(path: string, config: LlamaConfig): LoraAdapterFile {
  const file = GgufFile.open(path);
  try {
    if (file.getString("general.type") !== "adapter" || file.getString("adapter.type") !== "lora") {
      throw new FormatError(`${path}: not a GGUF LoRA adapter (general.type/adapter.type)`);
    }
    const arch = checkArchitecture(file.getString("general.architecture"), path);
    if (arch !== config.architecture) {
      throw new FormatError(`${path}: adapter is for '${arch}', the base model is '${config.architecture}'`);
    }
    const weights: Weights = new Map();
    let rank = 0;
    for (const t of file.tensors) {
      const m = /^(.+\.weight)\.lora_(a|b)$/.exec(t.name);
      const base = m && ggufToHfName(m[1]);
      if (!m || !base)
        throw new FormatError(`${path}: tensor '${t.name}' is not a LoRA tensor of a decoder weight`);
      let { data } = file.readTensor(t.name);
      if (m[2] === "b" && usesPairwiseRope(arch) && /(q|k)_proj/.test(base)) {
        data = unpermuteRowsFromGguf(data, t.shape[0], config.headDim);
      }
      rank = m[2] === "a" ? t.shape[0] : t.shape[1];
      weights.set(base.replace(/\.weight$/, `.lora_${m[2].toUpperCase()}.weight`), { shape: t.shape, data });
    }
    const alpha = file.getNumber("adapter.lora.alpha");
    if (alpha === undefined) throw new FormatError(`${path}: adapter.lora.alpha is missing`);
    const adapter = { rank, alpha, targetModules: [...modulesOf(weights)], weights };
    checkAdapterShapes(adapter, config);
    return adapter;
  } finally {
    file.close();
  }
}
