/** A request the model cannot serve as given (bad token ids, prompt longer than the context, ...). */
export class ModelInputError extends Error {
  override name = "ModelInputError";
}

/** A model that does not fit the engine's memory or the machine's, refused before anything is loaded. */
export class ModelMemoryError extends Error {
  override name = "ModelMemoryError";
}

/** Weights or adapters that do not fit the model they are loaded into. */
export class WeightShapeError extends Error {
  override name = "WeightShapeError";
}
