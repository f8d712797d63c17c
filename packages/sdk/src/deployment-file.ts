import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Address, Hex } from "viem";
import { OpenLedgerTransactionError } from "./errors.ts";

/** Protocol contract addresses by role. `token` is OpenToken or WrappedOpen. */
export interface ProtocolAddresses {
  token: Address;
  staking: Address;
  datanetRegistry: Address;
  modelRegistry: Address;
  inferenceSettlement: Address;
  /** The challenge verifier (SpanV2Verifier or SpanV1Verifier), when one was deployed. */
  verifier?: Address;
}

export interface DeployedContract {
  address: Address;
  blockNumber: number;
  transactionHash: Hex;
  /** keccak256 of the creation bytecode, and of the encoded constructor arguments. */
  codeHash: Hex;
  argsHash: Hex;
}

/** The content of `deployments/<chainId>.json`. */
export interface Deployment {
  chainId: number;
  deployer: Address;
  /** Addresses by role (complete once the deploy finished). */
  addresses: Partial<ProtocolAddresses>;
  contracts: Record<string, DeployedContract>;
  /** Setup steps (role grants, wiring) done, by step id. */
  setup: Record<string, { blockNumber: number; transactionHash: Hex }>;
  updatedAt: string;
}

export function deploymentPath(dir: string, chainId: number): string {
  return join(dir, `${chainId}.json`);
}

/** Reads `<dir>/<chainId>.json`, or undefined when there is none. */
export function readDeployment(dir: string, chainId: number): Deployment | undefined {
  const path = deploymentPath(dir, chainId);
  if (!existsSync(path)) return undefined;
  let parsed: Deployment;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new OpenLedgerTransactionError(
      `${path} is not valid JSON (${(err as Error).message}); fix or delete it`,
    );
  }
  if (parsed?.chainId !== chainId || typeof parsed.contracts !== "object" || parsed.contracts === null) {
    throw new OpenLedgerTransactionError(
      `${path} is not a deployment file for chain ${chainId}; fix or delete it`,
    );
  }
  parsed.setup ??= {};
  parsed.addresses ??= {};
  return parsed;
}

/** The protocol addresses recorded in a deployment, or undefined when the deployment is incomplete. */
export function protocolAddresses(deployment: Deployment): ProtocolAddresses | undefined {
  const a = deployment.addresses;
  if (!a.token || !a.staking || !a.datanetRegistry || !a.modelRegistry || !a.inferenceSettlement)
    return undefined;
  return a as ProtocolAddresses;
}

/** Writes the deployment atomically (temp file, then rename). */
export function writeDeployment(dir: string, deployment: Deployment): string {
  mkdirSync(dir, { recursive: true });
  const path = deploymentPath(dir, deployment.chainId);
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(deployment, null, 2)}\n`);
  renameSync(tmp, path);
  return path;
}
