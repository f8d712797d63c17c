/** Raised when a local chain cannot be started (binary missing, port taken, anvil exited or never answered). */
export class DevnetError extends Error {
  override name = "DevnetError";
}
