export * from "./formats/errors.ts";
export * from "./formats/ggml-types.ts";
export * from "./formats/gguf-read.ts";
export * from "./formats/gguf-values.ts";
export * from "./formats/gguf-write.ts";
