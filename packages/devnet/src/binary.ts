import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { DevnetError } from "./errors.ts";

const require = createRequire(import.meta.url);
const ARCH: Record<string, string> = { x64: "amd64", arm64: "arm64" };

/** Path of the platform anvil binary shipped by the npm package `@foundry-rs/anvil-<os>-<arch>`. */
export function anvilBinaryPath(): string {
  const arch = ARCH[process.arch];
  const pkg = `@foundry-rs/anvil-${process.platform}-${arch ?? process.arch}`;
  let dir: string;
  try {
    dir = dirname(require.resolve(`${pkg}/package.json`));
  } catch {
    throw new DevnetError(
      `anvil binary package ${pkg} is not installed (platform ${process.platform}/${process.arch}); run npm ci`,
    );
  }
  const bin = join(dir, "bin", process.platform === "win32" ? "anvil.exe" : "anvil");
  if (!existsSync(bin)) throw new DevnetError(`anvil binary missing at ${bin}; reinstall with npm ci`);
  return bin;
}
