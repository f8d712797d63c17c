// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {SpanText} from "./SpanText.sol";

/// @title span-v1 attribution, computed in Solidity
/// @notice The same algorithm as @openledger/attribution (specification in packages/attribution/README.md)
/// by brute force: every output position against every chunk position, O(output words x chunk words).
/// For EVM chains without the 0x…0801 precompile; meant for small inputs (a challenge's chunks). Words,
/// costs, chunk checks and shares are {SpanText}'s.
library SpanV1 {
    struct Span {
        uint32 wordStart;
        uint32 wordEnd;
        uint256 contributionId;
        uint32 chunkIndex;
        uint32 chunkWordOffset;
        uint64 weight;
    }

    bytes32 internal constant TAG = keccak256("openledger.span-v1");

    /// @notice span-v1 over `chunks` for `output`, committed with `roots`.
    /// @return commitment keccak256 of the canonical result encoding (README, step 9).
    /// @return credits Credited contributions, ascending, shares summing to 1,000,000 (or none).
    /// @return spans The kept spans in output order.
    function compute(bytes memory output, bytes32[] memory roots, SpanText.Chunk[] memory chunks)
        internal
        pure
        returns (bytes32 commitment, SpanText.Credit[] memory credits, Span[] memory spans)
    {
        bytes32[] memory o = SpanText.outputWords(output);
        SpanText.checkChunks(chunks);
        spans = _keptSpans(SpanText.costs(o), _matchLengths(o, chunks), chunks);
        credits = _credits(spans);
        commitment = commitmentOf(keccak256(output), roots, credits, spans);
    }

    /// @dev Per output position i: L(i) << 192 | chunk position << 96 | word offset of the smallest occurrence.
    function _matchLengths(bytes32[] memory o, SpanText.Chunk[] memory chunks)
        private
        pure
        returns (uint256[] memory best)
    {
        best = new uint256[](o.length);
        for (uint256 c; c < chunks.length; ++c) {
            _matchChunk(o, SpanText.wordHashes(chunks[c].text), chunks, c, best);
        }
    }

    function _matchChunk(
        bytes32[] memory o,
        bytes32[] memory w,
        SpanText.Chunk[] memory chunks,
        uint256 c,
        uint256[] memory best
    ) private pure {
        // next[j] = common prefix length of o[i+1..] and w[j..]; cur becomes the row for i.
        uint256[] memory next = new uint256[](w.length + 1);
        uint256[] memory cur = new uint256[](w.length + 1);
        for (uint256 i = o.length; i > 0;) {
            --i;
            (uint256 rowBest, uint256 rowJ) = SpanText.matchRow(o[i], w, next, cur);
            uint256 held = best[i] >> 192;
            if (
                rowBest > 0
                    && (rowBest > held
                        || (rowBest == held && _before(chunks, c, rowJ, (best[i] >> 96) & 0xffffffffffffffffffffffff, best[i] & 0xffffffffffffffffffffffff)))
            ) best[i] = (rowBest << 192) | (c << 96) | rowJ;
            (next, cur) = (cur, next);
        }
    }

    function _before(SpanText.Chunk[] memory chunks, uint256 a, uint256 ja, uint256 b, uint256 jb)
        private
        pure
        returns (bool)
    {
        if (chunks[a].contributionId != chunks[b].contributionId) {
            return chunks[a].contributionId < chunks[b].contributionId;
        }
        if (chunks[a].chunkIndex != chunks[b].chunkIndex) return chunks[a].chunkIndex < chunks[b].chunkIndex;
        return ja < jb;
    }

    function _keptSpans(uint256[] memory cost, uint256[] memory best, SpanText.Chunk[] memory chunks)
        private
        pure
        returns (Span[] memory spans)
    {
        uint256 m = cost.length;
        spans = new Span[](m);
        uint256 count;
        uint256 earlierEnd;
        uint256 covered;
        for (uint256 i; i < m; ++i) {
            uint256 end = i + (best[i] >> 192);
            if ((best[i] >> 192) < SpanText.MIN_WORDS || end <= earlierEnd) continue;
            earlierEnd = end;
            if (_sum(cost, i, end) < SpanText.MIN_SPAN_COST) continue;
            spans[count++] = _span(i, end, best[i], _sum(cost, i > covered ? i : covered, end), chunks);
            covered = end;
        }
        assembly ("memory-safe") {
            mstore(spans, count)
        }
    }

    function _span(uint256 i, uint256 end, uint256 packed, uint256 weight, SpanText.Chunk[] memory chunks)
        private
        pure
        returns (Span memory)
    {
        SpanText.Chunk memory ch = chunks[(packed >> 96) & 0xffffffffffffffffffffffff];
        return Span(uint32(i), uint32(end), ch.contributionId, ch.chunkIndex, uint32(packed), uint64(weight));
    }

    function _sum(uint256[] memory cost, uint256 from, uint256 to) private pure returns (uint256 total) {
        for (uint256 k = from; k < to; ++k) total += cost[k];
    }

    function _credits(Span[] memory spans) private pure returns (SpanText.Credit[] memory) {
        uint256[] memory ids = new uint256[](spans.length);
        uint256[] memory weights = new uint256[](spans.length);
        for (uint256 s; s < spans.length; ++s) {
            (ids[s], weights[s]) = (spans[s].contributionId, spans[s].weight);
        }
        return SpanText.credits(ids, weights);
    }

    /// @notice The commitment of a span-v1 result (README, step 9): what a record's credits and spans must
    /// reproduce for the record's payouts to be judged against them.
    function commitmentOf(
        bytes32 outputHash,
        bytes32[] memory roots,
        SpanText.Credit[] memory credits,
        Span[] memory spans
    ) internal pure returns (bytes32) {
        return keccak256(abi.encode(TAG, outputHash, SpanText.sortedRoots(roots), credits, spans));
    }
}
