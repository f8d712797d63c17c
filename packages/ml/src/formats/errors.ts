/** A model or adapter file that cannot be read: truncated, corrupt, or not the format it claims. */
export class FormatError extends Error {
  override name = "FormatError";
}

/** A tensor type this engine does not decode or encode (for example a k-quant). */
export class UnsupportedTensorTypeError extends FormatError {
  override name = "UnsupportedTensorTypeError";
}

/** A model whose architecture or hyperparameters the engine cannot run. */
export class UnsupportedModelError extends FormatError {
  override name = "UnsupportedModelError";
}
