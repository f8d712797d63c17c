// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title Judges challenges to inference settlement batches
/// @notice Plugged into InferenceSettlement by governance. The attribution part implements it (e.g. by
/// recomputing span-v1 attribution through the 0x…0801 precompile); tests use a simple verifier.
interface IAttributionVerifier {
    /// @notice Whether `evidence` proves that batch `batchId`, which committed to `contributorsRoot`,
    /// is wrong. Must not revert for well-formed but unconvincing evidence: return false instead.
    /// @param batchId The challenged batch (details via InferenceSettlement.getBatch).
    /// @param contributorsRoot The batch's root over (account, amount) payout leaves.
    /// @param evidence Verifier-specific encoding of the proof of fault.
    /// @return batchIsWrong True when the batch must be reverted.
    function verifyChallenge(uint256 batchId, bytes32 contributorsRoot, bytes calldata evidence)
        external
        view
        returns (bool batchIsWrong);
}
