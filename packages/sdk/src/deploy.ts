import {
  type Abi,
  type Address,
  type Client,
  encodeAbiParameters,
  encodeFunctionData,
  getAddress,
  getContractAddress,
  type Hex,
  keccak256,
  toHex,
} from "viem";
import { getChainId, getCode, readContract } from "viem/actions";
import {
  type Deployment,
  type ProtocolAddresses,
  readDeployment,
  writeDeployment,
} from "./deployment-file.ts";
import { OpenLedgerTransactionError } from "./errors.ts";
import {
  datanetRegistryAbi,
  datanetRegistryBytecode,
  inferenceSettlementAbi,
  inferenceSettlementBytecode,
  modelRegistryAbi,
  modelRegistryBytecode,
  openTokenAbi,
  openTokenBytecode,
  spanV1VerifierAbi,
  spanV1VerifierBytecode,
  spanV2VerifierAbi,
  spanV2VerifierBytecode,
  stakingAbi,
  stakingBytecode,
  wrappedOpenAbi,
  wrappedOpenBytecode,
} from "./generated/abis.ts";
import { transact, type WalletClientWithAccount } from "./transact.ts";

const ETHER = 10n ** 18n;
export const DEFAULT_ADMIN_ROLE: Hex = `0x${"00".repeat(32)}`;
export const SLASHER_ROLE: Hex = keccak256(toHex("SLASHER_ROLE"));
export const BRIDGE_ROLE: Hex = keccak256(toHex("BRIDGE_ROLE"));

/** Deployment parameters; every field has the dev default from contracts/README.md. */
export interface ProtocolParams {
  /** "open": OpenToken with a genesis supply (any EVM chain). "wrapped": WrappedOpen (chains whose native currency is OPEN). */
  token?: "open" | "wrapped";
  /** Final holder of every DEFAULT_ADMIN_ROLE (default: the deployer). */
  admin?: Address;
  /** Receiver of the OpenToken genesis supply (default: the deployer). */
  treasury?: Address;
  genesisSupply?: bigint;
  minOperatorStake?: bigint;
  unbondingPeriod?: bigint;
  /** Receiver of the platform fee share (default: the admin). */
  platformTreasury?: Address;
  challengeWindow?: bigint;
  withdrawalDelay?: bigint;
  /**
   * Challenge verifier plugged into InferenceSettlement: "span-v2" (SpanV2Verifier computing span-v2
   * in Solidity, any EVM chain), "span-v2-precompile" (the same through the 0x…0802 precompile of the
   * OpenLedger L2), "span-v1" / "span-v1-precompile" (SpanV1Verifier, for batches posted with span-v1),
   * or "none" (default; no challenge can succeed until one is set).
   */
  verifier?: "none" | "span-v1" | "span-v1-precompile" | "span-v2" | "span-v2-precompile";
  /** Holder of OpenToken's BRIDGE_ROLE (the L1<->L2 bridge); nobody when omitted. */
  bridge?: Address;
}

type Role = keyof ProtocolAddresses;

interface DeployStep {
  kind: "deploy";
  role: Role;
  contract: string;
  abi: Abi;
  bytecode: Hex;
  args: (a: Partial<ProtocolAddresses>) => readonly unknown[];
}

interface CallStep {
  kind: "call";
  /** Unique id, recorded in the deployment file. */
  id: string;
  target: Exclude<Role, "verifier">;
  abi: Abi;
  functionName: string;
  args: (a: ProtocolAddresses) => readonly unknown[];
  /** On-chain check that the step is already done. */
  done: (client: Client, a: ProtocolAddresses) => Promise<boolean>;
}

type Step = DeployStep | CallStep;

function hasRole(client: Client, address: Address, abi: Abi, role: Hex, account: Address): Promise<boolean> {
  return readContract(client, {
    address,
    abi,
    functionName: "hasRole",
    args: [role, account],
  }) as Promise<boolean>;
}

function resolveParams(deployer: Address, params: ProtocolParams) {
  const admin = getAddress(params.admin ?? deployer);
  return {
    token: params.token ?? "open",
    admin,
    treasury: getAddress(params.treasury ?? deployer),
    genesisSupply: params.genesisSupply ?? 1_000_000_000n * ETHER,
    minOperatorStake: params.minOperatorStake ?? 1_000n * ETHER,
    unbondingPeriod: params.unbondingPeriod ?? 7n * 86_400n,
    platformTreasury: getAddress(params.platformTreasury ?? admin),
    challengeWindow: params.challengeWindow ?? 3_600n,
    withdrawalDelay: params.withdrawalDelay ?? 86_400n,
    verifier: params.verifier ?? "none",
    bridge: params.bridge ? getAddress(params.bridge) : undefined,
  };
}

/** The ordered plan (contracts/README.md "Deploy order"): contracts, then role wiring, then admin hand-over. */
function protocolPlan(deployerInput: Address, params: ProtocolParams): Step[] {
  const deployer = getAddress(deployerInput);
  const p = resolveParams(deployer, params);
  const tokenStep: DeployStep =
    p.token === "wrapped"
      ? {
          kind: "deploy",
          role: "token",
          contract: "WrappedOpen",
          abi: wrappedOpenAbi,
          bytecode: wrappedOpenBytecode,
          args: () => [],
        }
      : {
          kind: "deploy",
          role: "token",
          contract: "OpenToken",
          abi: openTokenAbi,
          bytecode: openTokenBytecode,
          // the deployer administers until the hand-over steps below
          args: () => [deployer, p.treasury, p.genesisSupply],
        };
  const steps: Step[] = [
    tokenStep,
    {
      kind: "deploy",
      role: "staking",
      contract: "Staking",
      abi: stakingAbi,
      bytecode: stakingBytecode,
      args: (a) => [deployer, a.token, p.minOperatorStake, p.unbondingPeriod],
    },
    {
      kind: "deploy",
      role: "datanetRegistry",
      contract: "DatanetRegistry",
      abi: datanetRegistryAbi,
      bytecode: datanetRegistryBytecode,
      args: (a) => [a.token],
    },
    {
      kind: "deploy",
      role: "modelRegistry",
      contract: "ModelRegistry",
      abi: modelRegistryAbi,
      bytecode: modelRegistryBytecode,
      args: (a) => [a.datanetRegistry],
    },
    {
      kind: "deploy",
      role: "inferenceSettlement",
      contract: "InferenceSettlement",
      abi: inferenceSettlementAbi,
      bytecode: inferenceSettlementBytecode,
      args: (a) => [
        deployer,
        a.token,
        a.staking,
        a.modelRegistry,
        p.platformTreasury,
        p.challengeWindow,
        p.withdrawalDelay,
      ],
    },
    {
      kind: "call",
      id: "Staking.grantRole(SLASHER_ROLE,InferenceSettlement)",
      target: "staking",
      abi: stakingAbi,
      functionName: "grantRole",
      args: (a) => [SLASHER_ROLE, a.inferenceSettlement],
      done: (c, a) => hasRole(c, a.staking, stakingAbi, SLASHER_ROLE, a.inferenceSettlement),
    },
  ];
  if (p.verifier !== "none") {
    const usePrecompile = p.verifier.endsWith("-precompile");
    const v2 = p.verifier.startsWith("span-v2");
    const contract = v2 ? "SpanV2Verifier" : "SpanV1Verifier";
    steps.push(
      {
        kind: "deploy",
        role: "verifier",
        contract,
        abi: v2 ? spanV2VerifierAbi : spanV1VerifierAbi,
        bytecode: v2 ? spanV2VerifierBytecode : spanV1VerifierBytecode,
        args: (a) => [a.datanetRegistry, a.inferenceSettlement, usePrecompile],
      },
      {
        kind: "call",
        id: `InferenceSettlement.setVerifier(${contract})`,
        target: "inferenceSettlement",
        abi: inferenceSettlementAbi,
        functionName: "setVerifier",
        args: (a) => [a.verifier],
        done: async (c, a) =>
          getAddress(
            (await readContract(c, {
              address: a.inferenceSettlement,
              abi: inferenceSettlementAbi,
              functionName: "verifier",
            })) as Address,
          ) === a.verifier,
      },
    );
  }
  if (p.bridge) {
    if (p.token !== "open")
      throw new OpenLedgerTransactionError('a bridge role exists only on OpenToken (token: "open")');
    const bridge = p.bridge;
    steps.push({
      kind: "call",
      id: "OpenToken.grantRole(BRIDGE_ROLE,bridge)",
      target: "token",
      abi: openTokenAbi,
      functionName: "grantRole",
      args: () => [BRIDGE_ROLE, bridge],
      done: (c, a) => hasRole(c, a.token, openTokenAbi, BRIDGE_ROLE, bridge),
    });
  }
  if (p.admin !== deployer) {
    const administered: [Exclude<Role, "verifier">, Abi][] = [
      ["staking", stakingAbi],
      ["inferenceSettlement", inferenceSettlementAbi],
    ];
    if (p.token === "open") administered.unshift(["token", openTokenAbi]);
    for (const [role, abi] of administered) {
      steps.push({
        kind: "call",
        id: `${role}.grantRole(DEFAULT_ADMIN_ROLE,admin)`,
        target: role,
        abi,
        functionName: "grantRole",
        args: () => [DEFAULT_ADMIN_ROLE, p.admin],
        done: (c, a) => hasRole(c, a[role], abi, DEFAULT_ADMIN_ROLE, p.admin),
      });
    }
    for (const [role, abi] of administered) {
      steps.push({
        kind: "call",
        id: `${role}.renounceRole(DEFAULT_ADMIN_ROLE,deployer)`,
        target: role,
        abi,
        functionName: "renounceRole",
        args: () => [DEFAULT_ADMIN_ROLE, deployer],
        done: async (c, a) => !(await hasRole(c, a[role], abi, DEFAULT_ADMIN_ROLE, deployer)),
      });
    }
  }
  return steps;
}

function constructorData(step: DeployStep, addresses: Partial<ProtocolAddresses>): Hex {
  const ctor = step.abi.find((item) => item.type === "constructor");
  const args = step.args(addresses);
  if (!ctor || ctor.inputs.length === 0) return "0x";
  return encodeAbiParameters(ctor.inputs, args);
}

export interface PlannedTransaction {
  /** Position in the plan, from 0; the transaction's nonce is startNonce + index. */
  index: number;
  nonce: number;
  kind: "deploy" | "call";
  /** Contract deployed, or `Contract.function` called. */
  label: string;
  from: Address;
  /** null for contract creations. */
  to: Address | null;
  data: Hex;
  value: bigint;
  /** The CREATE address of a deployment. */
  contractAddress?: Address;
  /** A deployment's keccak256(creation bytecode) and keccak256(constructor arguments), as in deployment files. */
  codeHash?: Hex;
  argsHash?: Hex;
}

/**
 * The ordered, unsigned transactions that deploy and wire the protocol from `deployer`, starting at
 * `startNonce`, with their predicted CREATE addresses. Pure: a chain's genesis can execute them so the
 * protocol sits at fixed addresses on every fresh chain.
 */
export function protocolDeployTransactions(input: {
  deployer: Address;
  startNonce?: number;
  params?: ProtocolParams;
}): {
  transactions: PlannedTransaction[];
  addresses: ProtocolAddresses;
} {
  const from = getAddress(input.deployer);
  const startNonce = input.startNonce ?? 0;
  const steps = protocolPlan(from, input.params ?? {});
  const addresses: Partial<ProtocolAddresses> = {};
  const transactions: PlannedTransaction[] = [];
  steps.forEach((step, index) => {
    const nonce = startNonce + index;
    if (step.kind === "deploy") {
      const contractAddress = getContractAddress({ from, nonce: BigInt(nonce) });
      const args = constructorData(step, addresses);
      const data = `${step.bytecode}${args.slice(2)}` as Hex;
      addresses[step.role] = contractAddress;
      transactions.push({
        index,
        nonce,
        kind: "deploy",
        label: step.contract,
        from,
        to: null,
        data,
        value: 0n,
        contractAddress,
        codeHash: keccak256(step.bytecode),
        argsHash: keccak256(args),
      });
    } else {
      const full = addresses as ProtocolAddresses;
      const data = encodeFunctionData({
        abi: step.abi,
        functionName: step.functionName,
        args: step.args(full),
      });
      transactions.push({
        index,
        nonce,
        kind: "call",
        label: step.id,
        from,
        to: full[step.target],
        data,
        value: 0n,
      });
    }
  });
  return { transactions, addresses: addresses as ProtocolAddresses };
}

export type DeployProgress =
  | { type: "found"; contract: string; address: Address }
  | { type: "deployed"; contract: string; address: Address; blockNumber: number; transactionHash: Hex }
  | { type: "setup"; id: string; transactionHash: Hex }
  | { type: "setup-found"; id: string };

export interface DeployOptions extends ProtocolParams {
  /** Folder of `<chainId>.json` deployment files (default "deployments"). */
  deploymentsDir?: string;
  /** Ignore an existing deployment file and deploy everything anew. */
  fresh?: boolean;
  onProgress?: (event: DeployProgress) => void;
}

export interface DeployResult {
  chainId: number;
  addresses: ProtocolAddresses;
  deployment: Deployment;
  /** Path of the deployment file written. */
  path: string;
  /** Contracts deployed by this run (empty when everything was found). */
  deployed: string[];
}

/**
 * Deploys the protocol idempotently: reads `<deploymentsDir>/<chainId>.json`, keeps every recorded
 * contract that still has code and was built from the same bytecode and constructor arguments,
 * deploys the rest in order, runs the wiring steps not yet done on chain, and rewrites the file
 * after every step.
 */
export async function deployProtocol(
  walletClient: WalletClientWithAccount,
  publicClient: Client,
  options: DeployOptions = {},
): Promise<DeployResult> {
  const deployer = getAddress(walletClient.account.address);
  const dir = options.deploymentsDir ?? "deployments";
  const chainId = await getChainId(publicClient);
  const previous = options.fresh ? undefined : readDeployment(dir, chainId);
  const deployment: Deployment = {
    chainId,
    deployer,
    addresses: {},
    contracts: { ...(previous?.contracts ?? {}) },
    setup: { ...(previous?.setup ?? {}) },
    updatedAt: new Date().toISOString(),
  };
  const progress = options.onProgress ?? (() => {});
  const addresses: Partial<ProtocolAddresses> = {};
  const deployed: string[] = [];
  let path = "";
  const save = () => {
    deployment.updatedAt = new Date().toISOString();
    deployment.addresses = { ...addresses };
    path = writeDeployment(dir, deployment);
  };

  for (const step of protocolPlan(deployer, options)) {
    if (step.kind === "deploy") {
      const args = constructorData(step, addresses);
      const codeHash = keccak256(step.bytecode);
      const argsHash = keccak256(args);
      const known = deployment.contracts[step.contract];
      if (known && known.codeHash === codeHash && known.argsHash === argsHash) {
        const code = await getCode(publicClient, { address: known.address });
        if (code && code !== "0x") {
          addresses[step.role] = known.address;
          progress({ type: "found", contract: step.contract, address: known.address });
          continue;
        }
      }
      const data = `${step.bytecode}${args.slice(2)}` as Hex;
      const { hash, receipt } = await transact(walletClient, {
        to: undefined,
        data,
        label: `deploy ${step.contract}`,
      });
      if (!receipt.contractAddress)
        throw new OpenLedgerTransactionError(
          `deploy ${step.contract}: no contract address in receipt ${hash}`,
        );
      const entry = {
        address: getAddress(receipt.contractAddress),
        blockNumber: Number(receipt.blockNumber),
        transactionHash: hash,
        codeHash,
        argsHash,
      };
      deployment.contracts[step.contract] = entry;
      addresses[step.role] = entry.address;
      deployed.push(step.contract);
      save();
      progress({ type: "deployed", contract: step.contract, ...entry });
    } else {
      const full = addresses as ProtocolAddresses;
      if (await step.done(publicClient, full)) {
        progress({ type: "setup-found", id: step.id });
        continue;
      }
      const data = encodeFunctionData({
        abi: step.abi,
        functionName: step.functionName,
        args: step.args(full),
      });
      const { hash, receipt } = await transact(walletClient, { to: full[step.target], data, label: step.id });
      deployment.setup[step.id] = { blockNumber: Number(receipt.blockNumber), transactionHash: hash };
      save();
      progress({ type: "setup", id: step.id, transactionHash: hash });
    }
  }
  // drop entries of contracts no longer in the plan (e.g. the other token kind)
  const planned = new Set(
    protocolPlan(deployer, options).flatMap((s) => (s.kind === "deploy" ? [s.contract] : [])),
  );
  for (const name of Object.keys(deployment.contracts))
    if (!planned.has(name)) delete deployment.contracts[name];
  save();
  return { chainId, addresses: addresses as ProtocolAddresses, deployment, path, deployed };
}
