// Entry of the kernels module: the f32 kernels and the kernels on weights in their storage formats.
export * from "./kernels";
export * from "./quant";
export * from "./qgemm";
