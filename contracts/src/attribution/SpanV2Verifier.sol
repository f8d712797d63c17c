// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {InferenceSettlement} from "../InferenceSettlement.sol";
import {IDatanetRegistry} from "../interfaces/IDatanetRegistry.sol";
import {SpanText} from "./SpanText.sol";
import {SpanV2} from "./SpanV2.sol";
import {SpanVerifier} from "./SpanVerifier.sol";

/// @title Judges span-v2 attribution records by recomputing them
/// @notice The record format, checks and payout rule are {SpanVerifier}'s (the same as span-v1's): the
/// witnesses are the first sources of every covered word, and a {PAYOUTS} challenge presents the credits
/// and credited segments. span-v2 runs in the 0x…0802 precompile on the OpenLedger L2, or in Solidity
/// ({SpanV2}) elsewhere.
contract SpanV2Verifier is SpanVerifier {
    /// @notice Evidence of kind {PAYOUTS}: the credits and credited segments the record's commitment stands for.
    struct CreditsAndSegments {
        SpanText.Credit[] credits;
        SpanV2.Segment[] segments;
    }

    address public constant SPAN_V2_PRECOMPILE = address(0x0000000000000000000000000000000000000802);

    constructor(IDatanetRegistry datanets_, InferenceSettlement settlement_, bool usePrecompile_)
        SpanVerifier(datanets_, settlement_, usePrecompile_)
    {}

    /// @notice {SpanV2-compute}'s commitment as an external call (so {recompute} can catch its reverts).
    function computeInSolidity(bytes memory output, bytes32[] memory roots, SpanText.Chunk[] memory chunks)
        external
        pure
        override
        returns (bytes32 commitment)
    {
        (commitment,,) = SpanV2.compute(output, roots, chunks);
    }

    function _precompile() internal pure override returns (address) {
        return SPAN_V2_PRECOMPILE;
    }

    function _committedCredits(Attribution memory a, bytes32[] memory roots, bytes memory body)
        internal
        pure
        override
        returns (bool committed, SpanText.Credit[] memory credits)
    {
        CreditsAndSegments memory cs = abi.decode(body, (CreditsAndSegments));
        return (SpanV2.commitmentOf(a.outputHash, roots, cs.credits, cs.segments) == a.commitment, cs.credits);
    }
}
