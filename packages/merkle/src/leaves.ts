import { nfcUtf8 } from "@openledger/common";
import { MerkleError } from "./errors.ts";
import { keccak256 } from "./hash.ts";
import { type Bytes32Like, type Hex, toHex, writeBytes32, writeHex } from "./hex.ts";

const MAX_UINT256 = (1n << 256n) - 1n;
const MAX_UINT32 = 0xffffffff;

function writeUint256(value: bigint, target: Uint8Array, offset: number, what: string): void {
  if (typeof value !== "bigint" || value < 0n || value > MAX_UINT256) {
    throw new MerkleError(`${what} must be a bigint in [0, 2^256 - 1], got ${String(value)}`);
  }
  let v = value;
  for (let i = 31; i >= 0; i--) {
    target[offset + i] = Number(v & 0xffn);
    v >>= 8n;
  }
}

/** Double keccak of an abi-encoded tuple, as OpenZeppelin's StandardMerkleTree hashes leaves. */
function doubleHash(encoded: Uint8Array): Hex {
  return toHex(keccak256(keccak256(encoded)));
}

/**
 * Settlement payout leaf:
 * `keccak256(bytes.concat(keccak256(abi.encode(address account, uint256 amount))))`.
 */
export function settlementLeaf(account: string, amount: bigint): Hex {
  const encoded = new Uint8Array(64);
  writeHex(account, 20, encoded, 12, "account");
  writeUint256(amount, encoded, 32, "amount");
  return doubleHash(encoded);
}

/**
 * Snapshot chunk leaf:
 * `keccak256(bytes.concat(keccak256(abi.encode(uint256 contributionId, uint32 chunkIndex, bytes32 contentHash))))`.
 */
export function chunkLeaf(contributionId: bigint, chunkIndex: number, contentHash: Bytes32Like): Hex {
  if (!Number.isInteger(chunkIndex) || chunkIndex < 0 || chunkIndex > MAX_UINT32) {
    throw new MerkleError(`chunkIndex must be an integer in [0, 2^32 - 1], got ${String(chunkIndex)}`);
  }
  const encoded = new Uint8Array(96);
  writeUint256(contributionId, encoded, 0, "contributionId");
  new DataView(encoded.buffer).setUint32(60, chunkIndex);
  writeBytes32(contentHash, encoded, 64, "contentHash");
  return doubleHash(encoded);
}

/** A chunk's content hash: keccak256 of its NFC-normalised UTF-8 bytes. */
export function chunkContentHash(text: string): Hex {
  if (typeof text !== "string") throw new MerkleError("chunk text must be a string");
  return toHex(keccak256(nfcUtf8(text)));
}
