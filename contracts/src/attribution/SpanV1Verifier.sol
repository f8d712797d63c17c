// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {InferenceSettlement} from "../InferenceSettlement.sol";
import {IDatanetRegistry} from "../interfaces/IDatanetRegistry.sol";
import {SpanText} from "./SpanText.sol";
import {SpanV1} from "./SpanV1.sol";
import {SpanVerifier} from "./SpanVerifier.sol";

/// @title Judges span-v1 attribution records by recomputing them
/// @notice The record format, checks and payout rule are {SpanVerifier}'s; span-v1 runs in the 0x…0801
/// precompile on the OpenLedger L2, or in Solidity ({SpanV1}) elsewhere. Kept for batches posted with
/// span-v1; new deployments use {SpanV2Verifier}.
contract SpanV1Verifier is SpanVerifier {
    /// @notice Evidence of kind {PAYOUTS}: the credits and spans the record's commitment stands for.
    struct CreditsAndSpans {
        SpanText.Credit[] credits;
        SpanV1.Span[] spans;
    }

    address public constant SPAN_V1_PRECOMPILE = address(0x0000000000000000000000000000000000000801);

    constructor(IDatanetRegistry datanets_, InferenceSettlement settlement_, bool usePrecompile_)
        SpanVerifier(datanets_, settlement_, usePrecompile_)
    {}

    /// @notice {SpanV1-compute}'s commitment as an external call (so {recompute} can catch its reverts).
    function computeInSolidity(bytes memory output, bytes32[] memory roots, SpanText.Chunk[] memory chunks)
        external
        pure
        override
        returns (bytes32 commitment)
    {
        (commitment,,) = SpanV1.compute(output, roots, chunks);
    }

    function _precompile() internal pure override returns (address) {
        return SPAN_V1_PRECOMPILE;
    }

    function _committedCredits(Attribution memory a, bytes32[] memory roots, bytes memory body)
        internal
        pure
        override
        returns (bool committed, SpanText.Credit[] memory credits)
    {
        CreditsAndSpans memory cs = abi.decode(body, (CreditsAndSpans));
        return (SpanV1.commitmentOf(a.outputHash, roots, cs.credits, cs.spans) == a.commitment, cs.credits);
    }
}
