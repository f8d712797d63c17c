// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Payout} from "../libraries/RecordTree.sol";

/// @title Judges the attribution records of inference settlement batches
/// @notice Each batch commits to one record per served output (see {RecordTree}): an `attribution` (bytes in
/// the verifier's own encoding, e.g. the output hash, the attribution commitment, the snapshots and the
/// witness chunks) and the `payouts` that output pays. InferenceSettlement proves a record's membership in
/// the batch before asking; the verifier judges only the record's contents. A batch's verifier is fixed
/// when it is posted.
interface IAttributionVerifier {
    /// @notice Whether `evidence` proves the record wrong: its attribution malformed, oversized or
    /// inconsistent with the published snapshots, or its payouts inconsistent with its attribution.
    /// Must not revert for well-formed but unconvincing evidence: return false instead.
    /// @param attribution The record's attribution bytes (keccak256 of them is in the record leaf).
    /// @param payouts The record's payouts.
    /// @param evidence Verifier-specific proof of fault.
    /// @return recordIsWrong True when the batch must be reverted.
    function verifyChallenge(bytes calldata attribution, Payout[] calldata payouts, bytes calldata evidence)
        external
        view
        returns (bool recordIsWrong);

    /// @notice Whether `answer` supplies everything a challenger needs to check the record (the output and
    /// a proof of every witness chunk), within the verifier's size limits. An operator asked for a
    /// record's evidence must answer with this in time or the batch is reverted.
    /// @param attribution The record's attribution bytes.
    /// @param answer Verifier-specific evidence.
    /// @return complete True when the answer is complete and valid.
    function verifyAnswer(bytes calldata attribution, bytes calldata answer) external view returns (bool complete);
}
