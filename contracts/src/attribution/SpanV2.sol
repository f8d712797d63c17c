// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {SpanV1} from "./SpanV1.sol";

/// @title span-v2 attribution, computed in Solidity
/// @notice The same algorithm as @openledger/attribution's span-v2 (specification in
/// packages/attribution/README.md): every output word inside a kept match goes to the lowest
/// contributionId holding a kept match that covers it, and a run of words with one owner earns only
/// if it would be kept on its own, so a copy extended with a few words earns nothing.
/// Brute force, O(output words x chunk words) per chunk; words, costs and the cost table are span-v1's.
/// Texts must be valid UTF-8 in Unicode NFC (the precompile checks this; this library assumes it).
library SpanV2 {
    struct Segment {
        uint32 wordStart;
        uint32 wordEnd;
        uint256 contributionId;
        uint64 weight;
    }

    /// @notice The output exceeds the limits (32,768 bytes, 4,096 words).
    error SpanV2OutputTooLarge(uint256 byteLength, uint256 wordCount);
    /// @notice Two chunks share (contributionId, chunkIndex) but not their text.
    error SpanV2ConflictingChunk(uint256 contributionId, uint32 chunkIndex);
    /// @notice Contribution ids start at 1.
    error SpanV2ZeroContributionId(uint256 chunkPosition);

    uint256 internal constant MIN_WORDS = 4;
    uint256 internal constant MIN_SPAN_COST = 40;
    uint256 internal constant MAX_OUTPUT_BYTES = 32_768;
    uint256 internal constant MAX_OUTPUT_WORDS = 4_096;
    uint256 internal constant SHARE_TOTAL = 1_000_000;
    bytes32 internal constant TAG = keccak256("openledger.span-v2");

    /// @notice span-v2 over `chunks` for `output`, committed with `roots`.
    /// @return commitment keccak256 of the canonical result encoding (README, span-v2 step 5).
    /// @return credits Credited contributions, ascending, shares summing to 1,000,000 (or none).
    /// @return segments The credited segments in output order.
    function compute(bytes memory output, bytes32[] memory roots, SpanV1.Chunk[] memory chunks)
        internal
        pure
        returns (bytes32 commitment, SpanV1.Credit[] memory credits, Segment[] memory segments)
    {
        bytes32[] memory o = SpanV1.wordHashes(output);
        if (output.length > MAX_OUTPUT_BYTES || o.length > MAX_OUTPUT_WORDS) {
            revert SpanV2OutputTooLarge(output.length, o.length);
        }
        _checkChunks(chunks);
        uint256[] memory cost = _costs(o);
        uint256[] memory owner = _owners(o, _keptMinimum(cost), chunks);
        segments = _segments(cost, owner);
        credits = _credits(segments);
        commitment = keccak256(abi.encode(TAG, keccak256(output), _sortedRoots(roots), credits, segments));
    }

    function _checkChunks(SpanV1.Chunk[] memory chunks) private pure {
        for (uint256 a; a < chunks.length; ++a) {
            if (chunks[a].contributionId == 0) revert SpanV2ZeroContributionId(a);
            for (uint256 b; b < a; ++b) {
                if (
                    chunks[a].contributionId == chunks[b].contributionId && chunks[a].chunkIndex == chunks[b].chunkIndex
                        && keccak256(chunks[a].text) != keccak256(chunks[b].text)
                ) revert SpanV2ConflictingChunk(chunks[a].contributionId, chunks[a].chunkIndex);
            }
        }
    }

    function _costs(bytes32[] memory o) private pure returns (uint256[] memory cost) {
        bytes memory table = SpanV1.COST_TABLE;
        cost = new uint256[](o.length);
        for (uint256 i; i < o.length; ++i) cost[i] = SpanV1.wordCost(table, o[i]);
    }

    /// @dev need[a]: the fewest words a kept match from a needs (>= MIN_WORDS and MIN_SPAN_COST bits), 0 if none.
    function _keptMinimum(uint256[] memory cost) private pure returns (uint256[] memory need) {
        uint256 m = cost.length;
        need = new uint256[](m);
        for (uint256 a; a < m; ++a) {
            uint256 total;
            for (uint256 k = 1; a + k <= m; ++k) {
                total += cost[a + k - 1];
                if (k >= MIN_WORDS && total >= MIN_SPAN_COST) {
                    need[a] = k;
                    break;
                }
            }
        }
    }

    /// @dev owner[w]: the lowest contributionId with a kept match covering output word w (0: none).
    function _owners(bytes32[] memory o, uint256[] memory need, SpanV1.Chunk[] memory chunks)
        private
        pure
        returns (uint256[] memory owner)
    {
        owner = new uint256[](o.length);
        for (uint256 c; c < chunks.length; ++c) {
            bytes32[] memory w = SpanV1.wordHashes(chunks[c].text);
            uint256 id = chunks[c].contributionId;
            // next[j] = common prefix length of o[i+1..] and w[j..]; cur becomes the row for i.
            uint256[] memory next = new uint256[](w.length + 1);
            uint256[] memory cur = new uint256[](w.length + 1);
            for (uint256 i = o.length; i > 0;) {
                --i;
                uint256 longest = _row(o[i], w, next, cur);
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

    function _row(bytes32 oi, bytes32[] memory w, uint256[] memory next, uint256[] memory cur)
        private
        pure
        returns (uint256 longest)
    {
        // cur[j] = w[j] == oi ? next[j + 1] + 1 : 0; returns the row's maximum.
        assembly ("memory-safe") {
            let n := mload(w)
            let wp := add(w, 32)
            let np := add(next, 64)
            let cp := add(cur, 32)
            for { let off := 0 } lt(off, shl(5, n)) { off := add(off, 32) } {
                let v := 0
                if eq(mload(add(wp, off)), oi) { v := add(mload(add(np, off)), 1) }
                mstore(add(cp, off), v)
                if gt(v, longest) { longest := v }
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
            if (end - w >= MIN_WORDS && total >= MIN_SPAN_COST) {
                segs[count++] = Segment(uint32(w), uint32(end), id, uint64(total));
            }
            w = end;
        }
        assembly ("memory-safe") {
            mstore(segs, count)
        }
    }

    function _credits(Segment[] memory segs) private pure returns (SpanV1.Credit[] memory credits) {
        uint256[] memory ids = new uint256[](segs.length);
        uint256[] memory weights = new uint256[](segs.length);
        uint256 n;
        uint256 total;
        for (uint256 s; s < segs.length; ++s) {
            uint256 id = segs[s].contributionId;
            uint256 k;
            while (k < n && ids[k] != id) ++k;
            if (k == n) ids[n++] = id;
            weights[k] += segs[s].weight;
            total += segs[s].weight;
        }
        for (uint256 a = 1; a < n; ++a) {
            for (uint256 b = a; b > 0 && ids[b - 1] > ids[b]; --b) {
                (ids[b - 1], ids[b]) = (ids[b], ids[b - 1]);
                (weights[b - 1], weights[b]) = (weights[b], weights[b - 1]);
            }
        }
        credits = new SpanV1.Credit[](n);
        if (n == 0) return credits;
        uint256[] memory rem = new uint256[](n);
        uint256 assigned;
        for (uint256 k; k < n; ++k) {
            credits[k] = SpanV1.Credit(ids[k], weights[k] * SHARE_TOTAL / total);
            rem[k] = weights[k] * SHARE_TOTAL % total;
            assigned += credits[k].share;
        }
        // Largest remainder first, ties to the lower contributionId (ids are ascending).
        for (uint256 left = SHARE_TOTAL - assigned; left > 0; --left) {
            uint256 pick = type(uint256).max;
            for (uint256 k; k < n; ++k) {
                if (rem[k] != type(uint256).max && (pick == type(uint256).max || rem[k] > rem[pick])) pick = k;
            }
            credits[pick].share += 1;
            rem[pick] = type(uint256).max;
        }
    }

    function _sortedRoots(bytes32[] memory roots) private pure returns (bytes32[] memory sorted) {
        sorted = new bytes32[](roots.length);
        uint256 n;
        for (uint256 r; r < roots.length; ++r) {
            bytes32 v = roots[r];
            uint256 k;
            while (k < n && sorted[k] < v) ++k;
            if (k < n && sorted[k] == v) continue;
            for (uint256 t = n; t > k; --t) sorted[t] = sorted[t - 1];
            sorted[k] = v;
            ++n;
        }
        assembly ("memory-safe") {
            mstore(sorted, n)
        }
    }
}
