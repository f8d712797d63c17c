import { randomBytes } from "node:crypto";
import {
  type Address,
  type Client,
  encodeFunctionData,
  type Hex,
  parseSignature,
  type TypedDataDomain,
} from "viem";
import { getEip712Domain, readContract, signTypedData } from "viem/actions";
import { openTokenAbi, wrappedOpenAbi } from "./generated/abis.ts";
import {
  type ContractWrite,
  callOf,
  read,
  type Sent,
  transact,
  type WalletClientWithAccount,
} from "./transact.ts";

// OpenToken and WrappedOpen share one ERC-20 + EIP-2612 + EIP-3009 surface; openTokenAbi encodes both.
const abi = openTokenAbi;

const PERMIT_TYPES = {
  Permit: [
    { name: "owner", type: "address" },
    { name: "spender", type: "address" },
    { name: "value", type: "uint256" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
} as const;

const AUTHORIZATION_FIELDS = [
  { name: "from", type: "address" },
  { name: "to", type: "address" },
  { name: "value", type: "uint256" },
  { name: "validAfter", type: "uint256" },
  { name: "validBefore", type: "uint256" },
  { name: "nonce", type: "bytes32" },
] as const;

const AUTHORIZATION_TYPES = {
  transfer: { TransferWithAuthorization: AUTHORIZATION_FIELDS },
  receive: { ReceiveWithAuthorization: AUTHORIZATION_FIELDS },
} as const;

const CANCEL_TYPES = {
  CancelAuthorization: [
    { name: "authorizer", type: "address" },
    { name: "nonce", type: "bytes32" },
  ],
} as const;

/** The token's EIP-712 domain, read on chain (ERC-5267 `eip712Domain()`). */
export async function tokenDomain(client: Client, token: Address): Promise<TypedDataDomain> {
  const { domain } = await read("eip712Domain", () => getEip712Domain(client, { address: token }));
  return {
    name: domain.name,
    version: domain.version,
    chainId: domain.chainId,
    verifyingContract: domain.verifyingContract,
  };
}

export function tokenBalance(client: Client, params: { token: Address; account: Address }): Promise<bigint> {
  return read("balanceOf", () =>
    readContract(client, { address: params.token, abi, functionName: "balanceOf", args: [params.account] }),
  );
}

export function tokenAllowance(
  client: Client,
  params: { token: Address; owner: Address; spender: Address },
): Promise<bigint> {
  return read("allowance", () =>
    readContract(client, {
      address: params.token,
      abi,
      functionName: "allowance",
      args: [params.owner, params.spender],
    }),
  );
}

export function transferToken(
  client: WalletClientWithAccount,
  params: { token: Address; to: Address; amount: bigint },
): Promise<Sent> {
  const data = encodeFunctionData({ abi, functionName: "transfer", args: [params.to, params.amount] });
  return transact(client, { to: params.token, data, label: "OpenToken.transfer" });
}

export interface ApproveTokenParams {
  token: Address;
  spender: Address;
  amount: bigint;
}

/** The typed `approve` call (for a SendQueue, or an unsigned transaction for the user's wallet). */
export function approveTokenWrite(params: ApproveTokenParams): ContractWrite<typeof abi, "approve"> {
  return {
    address: params.token,
    abi,
    functionName: "approve",
    args: [params.spender, params.amount],
    label: "OpenToken.approve",
  };
}

export function approveToken(client: WalletClientWithAccount, params: ApproveTokenParams): Promise<Sent> {
  return transact(client, callOf(approveTokenWrite(params) as ContractWrite));
}

/** WrappedOpen: wraps `amount` of the native currency (OPEN on the L2) into the ERC-20, 1:1. */
export function wrapOpen(
  client: WalletClientWithAccount,
  params: { token: Address; amount: bigint },
): Promise<Sent> {
  const data = encodeFunctionData({ abi: wrappedOpenAbi, functionName: "deposit" });
  return transact(client, { to: params.token, data, value: params.amount, label: "WrappedOpen.deposit" });
}

/** WrappedOpen: burns `amount` of the ERC-20 and sends the native currency to `to` (default the sender). */
export function unwrapOpen(
  client: WalletClientWithAccount,
  params: { token: Address; amount: bigint; to?: Address },
): Promise<Sent> {
  const data = params.to
    ? encodeFunctionData({
        abi: wrappedOpenAbi,
        functionName: "withdrawTo",
        args: [params.to, params.amount],
      })
    : encodeFunctionData({ abi: wrappedOpenAbi, functionName: "withdraw", args: [params.amount] });
  return transact(client, { to: params.token, data, label: "WrappedOpen.withdraw" });
}

export interface SignedPermit {
  owner: Address;
  spender: Address;
  value: bigint;
  nonce: bigint;
  deadline: bigint;
  signature: Hex;
}

/** Signs an EIP-2612 permit with the client's account (nonce read on chain unless given). */
export async function signPermit(
  client: WalletClientWithAccount,
  params: { token: Address; spender: Address; value: bigint; deadline: bigint; nonce?: bigint },
): Promise<SignedPermit> {
  const owner = client.account.address;
  const nonce =
    params.nonce ??
    (await read("nonces", () =>
      readContract(client, { address: params.token, abi, functionName: "nonces", args: [owner] }),
    ));
  const message = { owner, spender: params.spender, value: params.value, nonce, deadline: params.deadline };
  const signature = await signTypedData(client, {
    account: client.account,
    domain: await tokenDomain(client, params.token),
    types: PERMIT_TYPES,
    primaryType: "Permit",
    message,
  });
  return { ...message, signature };
}

/** Submits a signed permit (any account may send it). */
export function permit(
  client: WalletClientWithAccount,
  params: { token: Address; permit: SignedPermit },
): Promise<Sent> {
  const p = params.permit;
  const { v, r, s } = splitSignature(p.signature);
  const data = encodeFunctionData({
    abi,
    functionName: "permit",
    args: [p.owner, p.spender, p.value, p.deadline, v, r, s],
  });
  return transact(client, { to: params.token, data, label: "OpenToken.permit" });
}

export interface TransferAuthorization {
  kind: "transfer" | "receive";
  from: Address;
  to: Address;
  value: bigint;
  validAfter: bigint;
  validBefore: bigint;
  nonce: Hex;
  signature: Hex;
}

/** A random 32-byte EIP-3009 nonce. */
export function randomAuthorizationNonce(): Hex {
  return `0x${randomBytes(32).toString("hex")}`;
}

/**
 * Signs an EIP-3009 TransferWithAuthorization (or ReceiveWithAuthorization with `kind: "receive"`)
 * from the client's account. `validAfter` defaults to 0 and `nonce` to a random one.
 */
export async function signTransferAuthorization(
  client: WalletClientWithAccount,
  params: {
    token: Address;
    to: Address;
    value: bigint;
    validBefore: bigint;
    validAfter?: bigint;
    nonce?: Hex;
    kind?: "transfer" | "receive";
  },
): Promise<TransferAuthorization> {
  const kind = params.kind ?? "transfer";
  const message = {
    from: client.account.address,
    to: params.to,
    value: params.value,
    validAfter: params.validAfter ?? 0n,
    validBefore: params.validBefore,
    nonce: params.nonce ?? randomAuthorizationNonce(),
  };
  const domain = await tokenDomain(client, params.token);
  const signature =
    kind === "transfer"
      ? await signTypedData(client, {
          account: client.account,
          domain,
          types: AUTHORIZATION_TYPES.transfer,
          primaryType: "TransferWithAuthorization",
          message,
        })
      : await signTypedData(client, {
          account: client.account,
          domain,
          types: AUTHORIZATION_TYPES.receive,
          primaryType: "ReceiveWithAuthorization",
          message,
        });
  return { kind, ...message, signature };
}

/** Executes a signed EIP-3009 authorization (transfer: anyone may send; receive: only the payee). */
export function executeAuthorization(
  client: WalletClientWithAccount,
  params: { token: Address; authorization: TransferAuthorization },
): Promise<Sent> {
  const a = params.authorization;
  const { v, r, s } = splitSignature(a.signature);
  const args = [a.from, a.to, a.value, a.validAfter, a.validBefore, a.nonce, v, r, s] as const;
  const data =
    a.kind === "transfer"
      ? encodeFunctionData({ abi, functionName: "transferWithAuthorization", args })
      : encodeFunctionData({ abi, functionName: "receiveWithAuthorization", args });
  const label =
    a.kind === "transfer" ? "OpenToken.transferWithAuthorization" : "OpenToken.receiveWithAuthorization";
  return transact(client, { to: params.token, data, label });
}

/** Signs and sends a cancellation of the account's unused EIP-3009 nonce. */
export async function cancelAuthorization(
  client: WalletClientWithAccount,
  params: { token: Address; nonce: Hex },
): Promise<Sent> {
  const authorizer = client.account.address;
  const signature = await signTypedData(client, {
    account: client.account,
    domain: await tokenDomain(client, params.token),
    types: CANCEL_TYPES,
    primaryType: "CancelAuthorization",
    message: { authorizer, nonce: params.nonce },
  });
  const { v, r, s } = splitSignature(signature);
  const data = encodeFunctionData({
    abi,
    functionName: "cancelAuthorization",
    args: [authorizer, params.nonce, v, r, s],
  });
  return transact(client, { to: params.token, data, label: "OpenToken.cancelAuthorization" });
}

/** Whether `authorizer` has used or cancelled `nonce`. */
export function authorizationState(
  client: Client,
  params: { token: Address; authorizer: Address; nonce: Hex },
): Promise<boolean> {
  return read("authorizationState", () =>
    readContract(client, {
      address: params.token,
      abi,
      functionName: "authorizationState",
      args: [params.authorizer, params.nonce],
    }),
  );
}

function splitSignature(signature: Hex): { v: number; r: Hex; s: Hex } {
  const { r, s, v, yParity } = parseSignature(signature);
  return { r, s, v: Number(v ?? BigInt(yParity + 27)) };
}
