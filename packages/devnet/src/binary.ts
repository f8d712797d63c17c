import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { DevnetError } from "./errors.ts";

const require = createRequire(import.meta.url);
const ARCH: Record<string, string> = { x64: "amd64", arm64: "arm64" };

export type FoundryTool = "anvil" | "forge" | "cast";

/**
 * Path of a Foundry tool's platform binary, shipped by the npm package `@foundry-rs/<tool>-<os>-<arch>`
 * (for this process's platform unless another is named). Use it instead of node_modules/.bin/<tool>:
 * those npm wrappers exit 0 even when the tool fails.
 */
export function foundryBinaryPath(
  tool: FoundryTool,
  platform: string = process.platform,
  cpu: string = process.arch,
): string {
  const pkg = `@foundry-rs/${tool}-${platform}-${ARCH[cpu] ?? cpu}`;
  let dir: string;
  try {
    dir = dirname(require.resolve(`${pkg}/package.json`));
  } catch {
    throw new DevnetError(
      `${tool} binary package ${pkg} is not installed (platform ${platform}/${cpu}); run npm ci`,
    );
  }
  const bin = join(dir, "bin", platform === "win32" ? `${tool}.exe` : tool);
  if (!existsSync(bin)) throw new DevnetError(`${tool} binary missing at ${bin}; reinstall with npm ci`);
  return bin;
}

/** Path of the platform anvil binary. */
export function anvilBinaryPath(platform?: string, cpu?: string): string {
  return foundryBinaryPath("anvil", platform, cpu);
}
