import { type Address, type Hex, isAddress, isHex, recoverTypedDataAddress } from "viem";
import { InvalidInputError, PermissionError } from "./errors.ts";

/** What the contributor signs (EIP-712): the Datanet id and the keccak256 of the uploaded bytes. */
export const CONTRIBUTION_TYPES = {
  Contribution: [
    { name: "datanetId", type: "uint256" },
    { name: "contentHash", type: "bytes32" },
  ],
} as const;

export interface ContributionDomain {
  chainId: number;
  verifyingContract: Address;
}

export function contributionTypedData(domain: ContributionDomain, datanetId: bigint, contentHash: Hex) {
  return {
    domain: { name: "OpenLedger Datanet", version: "1", ...domain },
    types: CONTRIBUTION_TYPES,
    primaryType: "Contribution" as const,
    message: { datanetId, contentHash },
  };
}

/** The signer of EIP-712 typed data; a malformed or unrecoverable signature is a clear error. */
export async function recoverSigner(
  typedData: Parameters<typeof recoverTypedDataAddress>[0] extends infer P
    ? Omit<P & object, "signature">
    : never,
  signature: Hex,
): Promise<Address> {
  if (!isHex(signature) || (signature.length !== 132 && signature.length !== 130)) {
    throw new InvalidInputError("invalid_signature", "signature must be a 65-byte hex string");
  }
  try {
    return await recoverTypedDataAddress({ ...typedData, signature } as Parameters<
      typeof recoverTypedDataAddress
    >[0]);
  } catch {
    throw new PermissionError(
      "bad_signature",
      "the signature cannot be recovered; sign the EIP-712 message again",
    );
  }
}

/** Throws unless `signature` is `contributor`'s EIP-712 signature over (datanetId, contentHash). */
export async function verifyContributionSignature(args: {
  domain: ContributionDomain;
  datanetId: bigint;
  contentHash: Hex;
  contributor: Address;
  signature: Hex;
}): Promise<void> {
  if (!isAddress(args.contributor)) {
    throw new InvalidInputError("invalid_address", `contributor "${args.contributor}" is not an address`);
  }
  if (!isHex(args.signature) || (args.signature.length !== 132 && args.signature.length !== 130)) {
    throw new InvalidInputError("invalid_signature", "signature must be a 65-byte hex string");
  }
  let signer: Address;
  try {
    signer = await recoverTypedDataAddress({
      ...contributionTypedData(args.domain, args.datanetId, args.contentHash),
      signature: args.signature,
    });
  } catch {
    throw new PermissionError(
      "bad_signature",
      "contributor signature cannot be recovered; sign the EIP-712 message again",
    );
  }
  if (signer.toLowerCase() !== args.contributor.toLowerCase()) {
    // The recovered address alone says nothing useful: a signature over another Datanet or file
    // recovers to a random-looking address. Name what the signature had to cover.
    throw new PermissionError(
      "bad_signature",
      `signature does not match (datanetId ${args.datanetId}, contentHash ${args.contentHash}): it was made over other data or with another key, not by contributor ${args.contributor}; sign this Datanet id and this upload's content hash as the contributor`,
    );
  }
}
