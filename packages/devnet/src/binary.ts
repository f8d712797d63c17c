import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { DevnetError } from "./errors.ts";

const require = createRequire(import.meta.url);
const ARCH: Record<string, string> = { x64: "amd64", arm64: "arm64" };

/**
 * Path of the platform anvil binary shipped by the npm package `@foundry-rs/anvil-<os>-<arch>`
 * (for this process's platform unless another is named).
 */
export function anvilBinaryPath(platform: string = process.platform, cpu: string = process.arch): string {
  const pkg = `@foundry-rs/anvil-${platform}-${ARCH[cpu] ?? cpu}`;
  let dir: string;
  try {
    dir = dirname(require.resolve(`${pkg}/package.json`));
  } catch {
    throw new DevnetError(
      `anvil binary package ${pkg} is not installed (platform ${platform}/${cpu}); run npm ci`,
    );
  }
  const bin = join(dir, "bin", platform === "win32" ? "anvil.exe" : "anvil");
  if (!existsSync(bin)) throw new DevnetError(`anvil binary missing at ${bin}; reinstall with npm ci`);
  return bin;
}
