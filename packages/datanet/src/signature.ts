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
    throw new PermissionError(
      "bad_signature",
      `signature is by ${signer}, not by contributor ${args.contributor}; the contributor must sign (datanetId, contentHash)`,
    );
  }
}
