// The public surface of @openledger/ml. Internals (the forward-pass state, layer kernels, tensor-name
// permutations, pre-tokenizer regexes, reference kernels) stay private to the package.

// formats: GGUF, safetensors, Hugging Face and PEFT files
export { FormatError, UnsupportedModelError, UnsupportedTensorTypeError } from "./formats/errors.ts";
export {
  decodeTensor,
  encodeTensor,
  GgmlType,
  type GgmlTypeName,
  type GgufWriteType,
  ggmlTypeName,
  SUPPORTED_TENSOR_TYPES,
} from "./formats/ggml-types.ts";
export { GgufFile, type GgufTensorInfo } from "./formats/gguf-read.ts";
export {
  type GgufEntry,
  type GgufMetadata,
  type GgufValue,
  GgufValueType,
  gguf,
} from "./formats/gguf-values.ts";
export {
  encodeGguf,
  type GgufEncodedTensor,
  type GgufTensorInput,
  type GgufWriteSpec,
  writeGguf,
} from "./formats/gguf-write.ts";
export { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from "./formats/half.ts";
export { convertHfToGguf, llamaConfigFromHf, llamaConfigToHf, readHfModel } from "./formats/hf-model.ts";
export {
  ggufSpmVocabMetadata,
  ggufVocabMetadata,
  llamaConfigFromGguf,
  llamaGgufMetadata,
  llamaGgufTensors,
  readGgufSpmVocab,
  readGgufVocab,
  readLlamaGguf,
  type WriteLlamaGgufOptions,
  writeLlamaGguf,
} from "./formats/llama-gguf.ts";
export {
  LORA_TARGETS,
  type LoraAdapterFile,
  readGgufLora,
  readPeftAdapter,
  writeGgufLora,
  writePeftAdapter,
} from "./formats/lora-formats.ts";
export {
  type Architecture,
  expectedShapes,
  type LlamaConfig,
  SUPPORTED_ARCHITECTURES,
  type Weights,
} from "./formats/model-config.ts";
export {
  encodeSafetensors,
  type SafetensorsDtype,
  SafetensorsFile,
  type SafetensorsTensorInfo,
  writeSafetensors,
} from "./formats/safetensors.ts";
export { ggufToHfName, hfToGgufName } from "./formats/tensor-names.ts";

// kernels
export {
  type AdamWStep,
  type AttentionArgs,
  Buf,
  Engine,
  EngineError,
  type EngineOptions,
  type MatmulOptions,
  type RopeTable,
} from "./kernels/engine.ts";
export { QTensor, type Weight } from "./kernels/qtensor.ts";
export { Rng } from "./kernels/rng.ts";

// LoRA
export { LoraAdapter, type LoraOptions, type LoraSlot, type LoraTarget } from "./lora/adapter.ts";
export { mergeAdapter } from "./lora/merge.ts";
export { type PerExampleGradients, type PerExampleOptions, perExampleGradients } from "./lora/per-example.ts";

// model and inference
export { ModelInputError, ModelMemoryError, WeightShapeError } from "./model/errors.ts";
export { type BatchRequest, generate, generateBatch, stream } from "./model/generate.ts";
export { type ForwardRequest, forward } from "./model/infer.ts";
export { initWeights, KVCache, LlamaModel, type ModelOptions, type ModelPart } from "./model/llama.ts";
export {
  type GgufLoadOptions,
  type LoadedGgufModel,
  type LoadedSplitModel,
  loadLlamaGguf,
  loadLlamaGgufSplit,
  type SplitLoadOptions,
} from "./model/load-gguf.ts";
export { argmax, logSoftmax, type SamplingOptions, sampleToken, topIndices } from "./model/sampling.ts";
export {
  type GeneratedToken,
  type GenerateOptions,
  type GenerateResult,
  Sequence,
  type TokenLogprob,
} from "./model/sequence.ts";
export { warmUp } from "./model/warm-up.ts";

// tokenizers
export { BpeTokenizer, type EncodeOptions } from "./tokenizer/bpe-tokenizer.ts";
export { BYTE_TO_CHAR } from "./tokenizer/byte-level.ts";
export {
  isSpmHfTokenizer,
  spmVocabFromHfTokenizer,
  vocabFromHfTokenizer,
  vocabToHfTokenizer,
} from "./tokenizer/hf-tokenizer.ts";
export { tokenizerFromGguf, tokenizerFromHfJson } from "./tokenizer/index.ts";
export { SpmTokenizer } from "./tokenizer/spm-tokenizer.ts";
export { type TrainBpeOptions, trainBpe } from "./tokenizer/train-bpe.ts";
export { type BpeVocab, type SpmVocab, type Tokenizer, TokenType } from "./tokenizer/vocab.ts";

// training
export {
  causalExample,
  type GradSink,
  type LoraGrad,
  type LossResult,
  lossAndGrad,
  type TrainExample,
} from "./train/backprop.ts";
export { type AdamWOptions, learningRateAt, type ScheduleOptions } from "./train/optim.ts";
export { CheckpointError, type StepResult, Trainer, type TrainerOptions } from "./train/trainer.ts";
