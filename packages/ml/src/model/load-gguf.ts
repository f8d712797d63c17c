// Loads a LLaMA-family GGUF into engine memory with the matrices kept in their storage format: each
// tensor is read from the file straight into the engine's memory (no whole-file buffer, no per-element
// conversion for packed or F32 tensors). The memory a model needs is checked before anything is read.
import { freemem } from "node:os";
import { FormatError, UnsupportedModelError } from "../formats/errors.ts";
import { decodeTensor, GgmlType } from "../formats/ggml-types.ts";
import { GgufFile, type GgufTensorInfo } from "../formats/gguf-read.ts";
import { llamaConfigFromGguf } from "../formats/llama-gguf.ts";
import { expectedShapes, type LlamaConfig } from "../formats/model-config.ts";
import { ggufToHfName, unpermuteRowsFromGguf, usesPairwiseRope } from "../formats/tensor-names.ts";
import { type Buf, Engine, f16RepackScratchBytes } from "../kernels/engine.ts";
import { keepsPacked, packedRowBytes, QTensor, type Weight } from "../kernels/qtensor.ts";
import { ModelMemoryError } from "./errors.ts";
import { LlamaModel, type ModelOptions } from "./llama.ts";
import { warmUp } from "./warm-up.ts";

const GiB = 2 ** 30;
const fmt = (bytes: number) =>
  bytes >= GiB ? `${(bytes / GiB).toFixed(2)} GiB` : `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/** How one GGUF tensor is held in memory. */
interface Plan {
  info: GgufTensorInfo;
  hf: string;
  packed: boolean;
  bytes: number;
}

function plan(file: GgufFile, config: LlamaConfig): Plan[] {
  const shapes = expectedShapes(config);
  const plans: Plan[] = [];
  for (const info of file.tensors) {
    if (info.name === "rope_freqs.weight") continue; // llama 3.1 rope scaling factors: not used here
    const hf = ggufToHfName(info.name);
    if (!hf)
      throw new UnsupportedModelError(`${file.label}: tensor '${info.name}' is not part of a LLaMA decoder`);
    const want = shapes.get(hf);
    if (!want || want.length !== info.shape.length || want.some((n, i) => n !== info.shape[i])) {
      throw new FormatError(
        `${file.label}: tensor '${info.name}' has shape [${info.shape.join(", ")}], expected [${want?.join(", ")}] from the config`,
      );
    }
    if (info.byteSize < 0) decodeTensor(info.type, new Uint8Array(0), 0, info.name); // raises the type error
    const packed = info.shape.length === 2 && keepsPacked(info.type, info.shape[1]);
    const bytes = packed ? info.shape[0] * packedRowBytes(info.type, info.shape[1]) : info.elementCount * 4;
    plans.push({ info, hf, packed, bytes: Math.ceil(bytes / 64) * 64 });
  }
  for (const name of shapes.keys()) {
    if (!plans.some((p) => p.hf === name))
      throw new FormatError(`${file.label}: tensor for '${name}' is missing`);
  }
  return plans;
}

/** Memory beside the weights: RoPE tables, one decode step's activations and logits, panel scratch. */
function workingMargin(config: LlamaConfig, maxContext: number): number {
  return maxContext * config.headDim * 4 + (config.vocabSize + 8 * config.intermediateSize) * 64 + (8 << 20);
}

/**
 * Memory needed beside the weights: the working margin, or the scratch of the F16 column-panel repack
 * at load (Engine.repackForDecode) where that is larger; the repack frees it before any working memory
 * is taken.
 */
function beyondWeights(config: LlamaConfig, plans: Plan[], maxContext: number): number {
  let repack = 0;
  for (const { info, packed } of plans) {
    if (packed && info.type === GgmlType.F16)
      repack = Math.max(repack, f16RepackScratchBytes(info.shape[0], info.shape[1]));
  }
  return Math.max(workingMargin(config, maxContext), repack);
}

/** Refuses a model whose weights (plus tables and a working margin) do not fit, before reading any. */
function checkFits(engine: Engine, file: GgufFile, config: LlamaConfig, plans: Plan[], maxContext: number) {
  const weights = plans.reduce((n, p) => n + p.bytes, 0);
  const extra = beyondWeights(config, plans, maxContext);
  const need = weights + extra;
  const engineFree = engine.availableBytes;
  const machineFree = freemem();
  if (need <= engineFree && weights <= machineFree) return;
  const formats = [...new Set(plans.filter((p) => p.packed).map((p) => p.info.typeName))].join("/") || "F32";
  const advice =
    need > engineFree
      ? engine.maxBytes < 4 * GiB
        ? `create the Engine with a larger maxMemoryMiB (up to 4096), or use a smaller quantisation (Q4_0/Q4_K) or model`
        : "one WebAssembly memory holds at most 4 GiB: use a smaller quantisation (Q4_0/Q4_K) or a smaller model"
      : "free memory on this machine, or use a smaller quantisation (Q4_0/Q4_K) or a smaller model";
  throw new ModelMemoryError(
    `${file.label}: the model needs ${fmt(need)} (${fmt(weights)} of ${formats} weights as stored) but the engine ` +
      `can hold ${fmt(engineFree)} more (maxMemoryMiB ${engine.maxBytes / 2 ** 20}) and the machine has ` +
      `${fmt(machineFree)} available; ${advice}`,
  );
}

/** Row order mapping for q/k rows stored pairwise by llama.cpp: model row r reads file row source(r). */
function unpermuteSource(headDim: number): (r: number) => number {
  const half = headDim / 2;
  return (r) => {
    const head = Math.floor(r / headDim);
    const i = r % headDim;
    return head * headDim + (i < half ? 2 * i : 2 * (i - half) + 1);
  };
}

function loadTensor(engine: Engine, file: GgufFile, p: Plan, config: LlamaConfig): Weight {
  const { info } = p;
  const permute = usesPairwiseRope(config.architecture) && /self_attn\.[qk]_proj/.test(p.hf);
  const rows = info.shape[0];
  if (p.packed) {
    const buf = engine.allocBytes(info.byteSize);
    const W = new QTensor(buf, info.type, rows, info.shape[1]);
    try {
      file.readTensorInto(info.name, W.bytes, permute ? unpermuteSource(config.headDim) : undefined);
      engine.repackForDecode(W);
    } catch (err) {
      W.free();
      throw err;
    }
    return W;
  }
  const buf: Buf = engine.alloc(info.elementCount, false);
  try {
    if (info.type === GgmlType.F32 && (!permute || info.shape.length === 2)) {
      const dest = new Uint8Array(engine.memory.buffer, buf.ptr, info.elementCount * 4);
      file.readTensorInto(info.name, dest, permute ? unpermuteSource(config.headDim) : undefined);
    } else {
      let { data } = file.readTensor(info.name); // small (norms, biases) or a type kept only as f32
      if (permute) data = unpermuteRowsFromGguf(data, rows, config.headDim);
      buf.f32.set(data);
    }
  } catch (err) {
    buf.free();
    throw err;
  }
  return buf;
}

export interface GgufLoadOptions extends ModelOptions {
  /**
   * Run a tiny stand-in model with the same matrix types before returning, so V8 has compiled the
   * per-token code before the first request (warm-up.ts; once per process and set of types). Default true.
   */
  warmUp?: boolean;
}

export interface LoadedGgufModel {
  model: LlamaModel;
  config: LlamaConfig;
  /** the open file (metadata, vocabulary); close it when done, or pass a GgufFile you own */
  file: GgufFile;
}

/**
 * Loads a LLaMA-family GGUF for inference and LoRA training with its matrices kept as stored (F16, BF16,
 * Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K); other types are widened to f32. Refuses a model that
 * does not fit (ModelMemoryError) before reading any tensor.
 */
export function loadLlamaGguf(
  engine: Engine,
  pathOrFile: string | GgufFile,
  options: GgufLoadOptions = {},
): LoadedGgufModel {
  const file = typeof pathOrFile === "string" ? GgufFile.open(pathOrFile) : pathOrFile;
  const params = new Map<string, Weight>();
  let model: LlamaModel | null = null;
  try {
    const config = llamaConfigFromGguf(file);
    const plans = plan(file, config);
    const maxContext = Math.min(options.maxContext ?? 4096, config.contextLength || 4096);
    checkFits(engine, file, config, plans, maxContext);
    for (const p of plans) params.set(p.hf, loadTensor(engine, file, p, config));
    model = new LlamaModel(engine, config, params, options);
    if (options.warmUp !== false) warmUp(model);
    return { model, config, file };
  } catch (err) {
    if (model) model.free();
    else for (const w of params.values()) w.free();
    if (typeof pathOrFile === "string") file.close();
    throw err;
  }
}

export interface SplitLoadOptions extends GgufLoadOptions {
  /** threads of each part's engine (default: number of CPUs) */
  threads?: number;
  relaxedSimd?: boolean;
  /** memory of each part's engine in MiB, at most 4096 (one wasm32 memory); default 4096 */
  maxMemoryMiB?: number;
  /** split into exactly this many parts; default: as few as fit */
  parts?: number;
}

export interface LoadedSplitModel extends LoadedGgufModel {
  /** one engine per part, first to last: close them all when done (after model.free()) */
  engines: Engine[];
}

/** Layer index of a Hugging Face tensor name, or -1 for the embedding, final norm and head. */
function layerOf(hf: string): number {
  const m = /^model\.layers\.(\d+)\./.exec(hf);
  return m ? Number(m[1]) : -1;
}

/** Contiguous layer ranges, about equal in bytes, each with its share of embedding/head within budget. */
function splitLayers(plans: Plan[], config: LlamaConfig, parts: number, budget: number, forced: boolean) {
  const layerBytes = new Array<number>(config.numLayers).fill(0);
  let embed = 0;
  let head = 0;
  for (const p of plans) {
    const l = layerOf(p.hf);
    if (l >= 0) layerBytes[l] += p.bytes;
    else if (p.hf === "model.embed_tokens.weight") embed += p.bytes;
    else head += p.bytes;
  }
  if (config.tieWordEmbeddings) head += embed; // the last part keeps its own copy as output head
  for (let n = parts; n <= config.numLayers; n++) {
    const total = embed + head + layerBytes.reduce((a, b) => a + b, 0);
    const ranges: { first: number; end: number; bytes: number }[] = [];
    let first = 0;
    let bytes = embed;
    let done = embed;
    for (let l = 0; l < config.numLayers; l++) {
      bytes += layerBytes[l];
      done += layerBytes[l];
      const left = config.numLayers - l - 1;
      const partsLeft = n - 1 - ranges.length;
      // cut at the part's share of the bytes, or where the layers left are just enough for the parts left
      // (with a large embedding or head the share may never be reached in time)
      if (
        partsLeft > 0 &&
        left >= partsLeft &&
        (done >= ((ranges.length + 1) * total) / n || left === partsLeft)
      ) {
        ranges.push({ first, end: l + 1, bytes });
        first = l + 1;
        bytes = 0;
      }
    }
    ranges.push({ first, end: config.numLayers, bytes: bytes + head });
    if (ranges.length === n && ranges.every((r) => r.bytes <= budget)) return ranges;
    if (forced) break;
  }
  return null;
}

/**
 * Loads a GGUF whose weights may exceed one WebAssembly memory (4 GiB): contiguous layer ranges go to
 * separate engines (one memory and set of worker threads each) and the forward pass hands the residual
 * stream from one to the next. A model that fits one engine loads into one. Split models serve without
 * adapters and do not train. Refuses (ModelMemoryError) before reading tensors when the machine lacks
 * the memory.
 */
export async function loadLlamaGgufSplit(
  path: string,
  options: SplitLoadOptions = {},
): Promise<LoadedSplitModel> {
  const maxMiB = options.maxMemoryMiB ?? 4096;
  const file = GgufFile.open(path);
  const engines: Engine[] = [];
  const loaded: Map<string, Weight>[] = [];
  try {
    const config = llamaConfigFromGguf(file);
    const plans = plan(file, config);
    const maxContext = Math.min(options.maxContext ?? 4096, config.contextLength || 4096);
    const budget = maxMiB * 2 ** 20 - beyondWeights(config, plans, maxContext);
    const ranges = splitLayers(plans, config, options.parts ?? 1, budget, options.parts !== undefined);
    const weights = plans.reduce((n, p) => n + p.bytes, 0);
    if (!ranges || weights > freemem()) {
      throw new ModelMemoryError(
        `${file.label}: the model's ${fmt(weights)} of weights ` +
          (ranges
            ? `exceed the ${fmt(freemem())} this machine has available; free memory or use a smaller quantisation`
            : `do not split into ${options.parts ?? "any number of"} parts of at most ${maxMiB} MiB; raise maxMemoryMiB (up to 4096) or the number of parts`),
      );
    }
    const last = ranges.length - 1;
    for (const [i, r] of ranges.entries()) {
      const engine = await Engine.create({
        threads: options.threads,
        relaxedSimd: options.relaxedSimd,
        maxMemoryMiB: maxMiB,
      });
      engines.push(engine);
      const params = new Map<string, Weight>();
      loaded.push(params);
      for (const p of plans) {
        const l = layerOf(p.hf);
        const mine =
          l >= 0
            ? l >= r.first && l < r.end
            : p.hf === "model.embed_tokens.weight"
              ? i === 0 || (i === last && config.tieWordEmbeddings)
              : i === last;
        if (mine) params.set(p.hf, loadTensor(engine, file, p, config));
      }
    }
    const head = loaded[last];
    const models = ranges.map(
      (r, i) =>
        new LlamaModel(engines[i], config, loaded[i], options, {
          first: r.first,
          end: r.end,
          embed: i === 0 ? undefined : loaded[0].get("model.embed_tokens.weight"),
          norm: i === last ? undefined : (head.get("model.norm.weight") as Buf),
          lmHead:
            i === last
              ? undefined
              : (head.get(
                  config.tieWordEmbeddings ? "model.embed_tokens.weight" : "lm_head.weight",
                ) as Weight),
        }),
    );
    for (let i = 0; i < last; i++) models[i].next = models[i + 1];
    if (options.warmUp !== false) warmUp(models[0]);
    return { model: models[0], config, file, engines };
  } catch (err) {
    for (const params of loaded) for (const w of params.values()) w.free();
    await Promise.all(engines.map((e) => e.close()));
    file.close();
    throw err;
  }
}
