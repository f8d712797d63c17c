/** Raised when a local chain cannot be started (binary missing, port taken, anvil exited or never answered). */
export class DevnetError extends Error {
  override name = "DevnetError";
}

/** The port asked for is taken. Shaped like Node's EADDRINUSE (code, port, address) so callers can name the flag. */
export class PortInUseError extends DevnetError {
  override name = "PortInUseError";
  readonly code = "EADDRINUSE";

  constructor(
    readonly port: number,
    readonly address: string,
  ) {
    super(`port ${port} on ${address} is already in use; stop what runs there or pick another`);
  }
}
