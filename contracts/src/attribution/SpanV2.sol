// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {SpanText} from "./SpanText.sol";

/// @title span-v2 attribution, computed in Solidity
/// @notice The same algorithm as @openledger/attribution's span-v2 (specification in
/// packages/attribution/README.md): every output word inside a kept match goes to the lowest
/// contributionId holding a kept match that covers it, and a run of words with one owner earns only
/// if it would be kept on its own, so a copy extended with a few words earns nothing.
/// Brute force, O(output words x chunk words) per chunk; words, costs, chunk checks and shares are
/// {SpanText}'s, as span-v1's.
library SpanV2 {
    struct Segment {
        uint32 wordStart;
        uint32 wordEnd;
        uint256 contributionId;
        uint64 weight;
    }

    bytes32 internal constant TAG = keccak256("openledger.span-v2");

    /// @notice span-v2 over `chunks` for `output`, committed with `roots`.
    /// @return commitment keccak256 of the canonical result encoding (README, span-v2 step 5).
    /// @return credits Credited contributions, ascending, shares summing to 1,000,000 (or none).
    /// @return segments The credited segments in output order.
    function compute(bytes memory output, bytes32[] memory roots, SpanText.Chunk[] memory chunks)
        internal
        pure
        returns (bytes32 commitment, SpanText.Credit[] memory credits, Segment[] memory segments)
    {
        bytes32[] memory o = SpanText.outputWords(output);
        SpanText.checkChunks(chunks);
        uint256[] memory cost = SpanText.costs(o);
        segments = _segments(cost, _owners(o, _keptMinimum(cost), chunks));
        credits = _credits(segments);
        commitment = commitmentOf(keccak256(output), roots, credits, segments);
    }

    /// @notice The commitment of a span-v2 result (README, span-v2 step 5).
    function commitmentOf(
        bytes32 outputHash,
        bytes32[] memory roots,
        SpanText.Credit[] memory credits,
        Segment[] memory segments
    ) internal pure returns (bytes32) {
        return keccak256(abi.encode(TAG, outputHash, SpanText.sortedRoots(roots), credits, segments));
    }

    /// @dev need[a]: the fewest words a kept match from a needs (>= MIN_WORDS and MIN_SPAN_COST bits), 0 if none.
    function _keptMinimum(uint256[] memory cost) private pure returns (uint256[] memory need) {
        uint256 m = cost.length;
        need = new uint256[](m);
        for (uint256 a; a < m; ++a) {
            uint256 total;
            for (uint256 k = 1; a + k <= m; ++k) {
                total += cost[a + k - 1];
                if (k >= SpanText.MIN_WORDS && total >= SpanText.MIN_SPAN_COST) {
                    need[a] = k;
                    break;
                }
            }
        }
    }

    /// @dev owner[w]: the lowest contributionId with a kept match covering output word w (0: none).
    function _owners(bytes32[] memory o, uint256[] memory need, SpanText.Chunk[] memory chunks)
        private
        pure
        returns (uint256[] memory owner)
    {
        owner = new uint256[](o.length);
        for (uint256 c; c < chunks.length; ++c) {
            bytes32[] memory w = SpanText.wordHashes(chunks[c].text);
            uint256 id = chunks[c].contributionId;
            // next[j] = common prefix length of o[i+1..] and w[j..]; cur becomes the row for i.
            uint256[] memory next = new uint256[](w.length + 1);
            uint256[] memory cur = new uint256[](w.length + 1);
            for (uint256 i = o.length; i > 0;) {
                --i;
                (uint256 longest,) = SpanText.matchRow(o[i], w, next, cur);
                // The longest match from i in this chunk covers [i, i + longest) if it is a kept match.
                if (need[i] != 0 && longest >= need[i]) {
                    for (uint256 k = i; k < i + longest; ++k) {
                        if (owner[k] == 0 || id < owner[k]) owner[k] = id;
                    }
                }
                (next, cur) = (cur, next);
            }
        }
    }

    /// @dev Maximal runs of words with one owner; a run is credited iff it is kept on its own.
    function _segments(uint256[] memory cost, uint256[] memory owner) private pure returns (Segment[] memory segs) {
        uint256 m = owner.length;
        segs = new Segment[](m);
        uint256 count;
        for (uint256 w; w < m;) {
            uint256 id = owner[w];
            if (id == 0) {
                ++w;
                continue;
            }
            uint256 end = w;
            uint256 total;
            while (end < m && owner[end] == id) total += cost[end++];
            if (end - w >= SpanText.MIN_WORDS && total >= SpanText.MIN_SPAN_COST) {
                segs[count++] = Segment(uint32(w), uint32(end), id, uint64(total));
            }
            w = end;
        }
        assembly ("memory-safe") {
            mstore(segs, count)
        }
    }

    function _credits(Segment[] memory segs) private pure returns (SpanText.Credit[] memory) {
        uint256[] memory ids = new uint256[](segs.length);
        uint256[] memory weights = new uint256[](segs.length);
        for (uint256 s; s < segs.length; ++s) {
            (ids[s], weights[s]) = (segs[s].contributionId, segs[s].weight);
        }
        return SpanText.credits(ids, weights);
    }
}
