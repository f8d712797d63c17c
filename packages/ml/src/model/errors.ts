/** A request the model cannot serve as given (bad token ids, prompt longer than the context, ...). */
export class ModelInputError extends Error {
  override name = "ModelInputError";
}

/** Weights or adapters that do not fit the model they are loaded into. */
export class WeightShapeError extends Error {
  override name = "WeightShapeError";
}
