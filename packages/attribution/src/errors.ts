/** Base class of every error this package throws. */
export class AttributionError extends Error {
  override name = "AttributionError";
}

/** Text that is not valid UTF-8 / well-formed Unicode. */
export class InvalidTextError extends AttributionError {
  override name = "InvalidTextError";
}

/** An output over the span-v1 limits (bytes or words). */
export class OutputTooLargeError extends AttributionError {
  override name = "OutputTooLargeError";
}

/** Chunks that are malformed, conflicting or over the limits. */
export class InvalidChunkError extends AttributionError {
  override name = "InvalidChunkError";
}

/** A chunk whose Merkle proof does not lead to the snapshot root it claims. */
export class ProofError extends AttributionError {
  override name = "ProofError";
}

/** A persisted index (or gradient store) file that is truncated, foreign or of another version. */
export class IndexFormatError extends AttributionError {
  override name = "IndexFormatError";
}

/** A precompile call that must revert (malformed input, over the limits). */
export class PrecompileError extends AttributionError {
  override name = "PrecompileError";
}

/** Invalid grad-v1 inputs (shapes, scales, ranges). */
export class GradientError extends AttributionError {
  override name = "GradientError";
}
