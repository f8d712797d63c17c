// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title span-v1 attribution, computed in Solidity
/// @notice The same algorithm as @openledger/attribution (specification in packages/attribution/README.md)
/// by brute force: every output position against every chunk position, O(output words x chunk words).
/// For EVM chains without the 0x…0801 precompile; meant for small inputs (a challenge's chunks).
/// Texts must be valid UTF-8 in Unicode NFC (the precompile checks this; this library assumes it).
library SpanV1 {
    struct Chunk {
        uint256 contributionId;
        uint32 chunkIndex;
        bytes text;
    }

    struct Credit {
        uint256 contributionId;
        uint256 share;
    }

    struct Span {
        uint32 wordStart;
        uint32 wordEnd;
        uint256 contributionId;
        uint32 chunkIndex;
        uint32 chunkWordOffset;
        uint64 weight;
    }

    /// @notice The output exceeds span-v1's limits (32,768 bytes, 4,096 words).
    error SpanV1OutputTooLarge(uint256 byteLength, uint256 wordCount);
    /// @notice Two chunks share (contributionId, chunkIndex) but not their text.
    error SpanV1ConflictingChunk(uint256 contributionId, uint32 chunkIndex);
    /// @notice Contribution ids start at 1.
    error SpanV1ZeroContributionId(uint256 chunkPosition);

    uint256 internal constant MIN_WORDS = 4;
    uint256 internal constant MIN_SPAN_COST = 40;
    uint256 internal constant DEFAULT_WORD_COST = 12;
    uint256 internal constant MAX_OUTPUT_BYTES = 32_768;
    uint256 internal constant MAX_OUTPUT_WORDS = 4_096;
    uint256 internal constant SHARE_TOTAL = 1_000_000;
    bytes32 internal constant TAG = keccak256("openledger.span-v1");

    /// @dev Sorted (uint32 key, uint8 cost) entries, 5 bytes each; key = first 4 bytes of keccak256(word).
    /// Generated from packages/attribution/src/costTable.ts (see test/vectors/vectors.ts).
    bytes internal constant COST_TABLE = hex"";

    /// @notice span-v1 over `chunks` for `output`, committed with `roots`.
    /// @return commitment keccak256 of the canonical result encoding (README, step 9).
    /// @return credits Credited contributions, ascending, shares summing to 1,000,000 (or none).
    /// @return spans The kept spans in output order.
    function compute(bytes memory output, bytes32[] memory roots, Chunk[] memory chunks)
        internal
        pure
        returns (bytes32 commitment, Credit[] memory credits, Span[] memory spans)
    {
        bytes32[] memory o = wordHashes(output);
        if (output.length > MAX_OUTPUT_BYTES || o.length > MAX_OUTPUT_WORDS) {
            revert SpanV1OutputTooLarge(output.length, o.length);
        }
        _checkChunks(chunks);
        (uint256[] memory len, uint256[] memory bestChunk, uint256[] memory bestJ) = _matchLengths(o, chunks);
        spans = _keptSpans(o, len, bestChunk, bestJ, chunks);
        credits = _credits(spans);
        commitment = keccak256(abi.encode(TAG, keccak256(output), _sortedRoots(roots), credits, spans));
    }

    /// @notice keccak256 of each span-v1 word (ASCII-lower-cased UTF-8 bytes) of `text`, in order.
    function wordHashes(bytes memory text) internal pure returns (bytes32[] memory hashes) {
        uint256 n = text.length;
        hashes = new bytes32[](n / 2 + 1);
        bytes memory buf = new bytes(n);
        uint256 count;
        uint256 bl;
        uint256 p;
        while (p < n) {
            uint8 b0 = uint8(text[p]);
            uint256 cl = b0 < 0x80 ? 1 : b0 < 0xE0 ? 2 : b0 < 0xF0 ? 3 : 4;
            if (_isSeparator(text, p, cl, b0)) {
                if (bl > 0) {
                    hashes[count++] = _hash(buf, bl);
                    bl = 0;
                }
            } else {
                for (uint256 k; k < cl; ++k) {
                    uint8 b = uint8(text[p + k]);
                    if (b >= 0x41 && b <= 0x5A) b += 0x20;
                    buf[bl++] = bytes1(b);
                }
            }
            p += cl;
        }
        if (bl > 0) hashes[count++] = _hash(buf, bl);
        assembly ("memory-safe") {
            mstore(hashes, count)
        }
    }

    /// @notice The rarity cost (bits) of a word, given its keccak256 and the cost table.
    function wordCost(bytes memory table, bytes32 wordHash) internal pure returns (uint256) {
        uint256 key = uint256(wordHash) >> 224;
        uint256 lo;
        uint256 hi = table.length / 5;
        while (lo < hi) {
            uint256 mid = (lo + hi) / 2;
            uint256 entry;
            assembly ("memory-safe") {
                entry := shr(216, mload(add(add(table, 32), mul(mid, 5))))
            }
            uint256 k = entry >> 8;
            if (k == key) return entry & 0xff;
            if (k < key) lo = mid + 1;
            else hi = mid;
        }
        return DEFAULT_WORD_COST;
    }

    function _hash(bytes memory buf, uint256 length) private pure returns (bytes32 h) {
        assembly ("memory-safe") {
            h := keccak256(add(buf, 32), length)
        }
    }

    function _isSeparator(bytes memory text, uint256 p, uint256 cl, uint8 b0) private pure returns (bool) {
        if (cl == 1) {
            return !((b0 >= 0x30 && b0 <= 0x39) || (b0 >= 0x41 && b0 <= 0x5A) || (b0 >= 0x61 && b0 <= 0x7A));
        }
        uint8 b1 = uint8(text[p + 1]);
        if (cl == 2) return b0 == 0xC2 || (b0 == 0xC3 && (b1 == 0x97 || b1 == 0xB7));
        if (cl == 3) {
            if (b0 == 0xE2) return b1 == 0x80 || b1 == 0x81;
            if (b0 == 0xE3) return b1 == 0x80;
            return b0 == 0xEF && b1 == 0xBB && uint8(text[p + 2]) == 0xBF;
        }
        return false;
    }

    function _checkChunks(Chunk[] memory chunks) private pure {
        for (uint256 a; a < chunks.length; ++a) {
            if (chunks[a].contributionId == 0) revert SpanV1ZeroContributionId(a);
            for (uint256 b; b < a; ++b) {
                if (
                    chunks[a].contributionId == chunks[b].contributionId && chunks[a].chunkIndex == chunks[b].chunkIndex
                        && keccak256(chunks[a].text) != keccak256(chunks[b].text)
                ) revert SpanV1ConflictingChunk(chunks[a].contributionId, chunks[a].chunkIndex);
            }
        }
    }

    /// @dev L(i) and the smallest occurrence (chunk position, word offset) for every output position.
    function _matchLengths(bytes32[] memory o, Chunk[] memory chunks)
        private
        pure
        returns (uint256[] memory len, uint256[] memory bestChunk, uint256[] memory bestJ)
    {
        uint256 m = o.length;
        len = new uint256[](m);
        bestChunk = new uint256[](m);
        bestJ = new uint256[](m);
        for (uint256 c; c < chunks.length; ++c) {
            bytes32[] memory w = wordHashes(chunks[c].text);
            uint256 n = w.length;
            // next[j] = common prefix length of o[i+1..] and w[j..]; cur is the row for i.
            uint256[] memory next = new uint256[](n + 1);
            uint256[] memory cur = new uint256[](n + 1);
            for (uint256 ii = m; ii > 0; --ii) {
                uint256 i = ii - 1;
                bytes32 oi = o[i];
                uint256 rowBest;
                uint256 rowJ;
                for (uint256 j; j < n; ++j) {
                    uint256 v = w[j] == oi ? next[j + 1] + 1 : 0;
                    cur[j] = v;
                    if (v > rowBest) {
                        rowBest = v;
                        rowJ = j;
                    }
                }
                if (rowBest > 0 && (rowBest > len[i] || (rowBest == len[i] && _before(chunks, c, rowJ, bestChunk[i], bestJ[i]))))
                {
                    len[i] = rowBest;
                    bestChunk[i] = c;
                    bestJ[i] = rowJ;
                }
                (next, cur) = (cur, next);
            }
        }
    }

    function _before(Chunk[] memory chunks, uint256 a, uint256 ja, uint256 b, uint256 jb) private pure returns (bool) {
        if (chunks[a].contributionId != chunks[b].contributionId) {
            return chunks[a].contributionId < chunks[b].contributionId;
        }
        if (chunks[a].chunkIndex != chunks[b].chunkIndex) return chunks[a].chunkIndex < chunks[b].chunkIndex;
        return ja < jb;
    }

    function _keptSpans(
        bytes32[] memory o,
        uint256[] memory len,
        uint256[] memory bestChunk,
        uint256[] memory bestJ,
        Chunk[] memory chunks
    ) private pure returns (Span[] memory spans) {
        bytes memory table = COST_TABLE;
        uint256 m = o.length;
        uint256[] memory cost = new uint256[](m);
        for (uint256 i; i < m; ++i) cost[i] = wordCost(table, o[i]);
        spans = new Span[](m);
        uint256 count;
        uint256 earlierEnd;
        uint256 covered;
        for (uint256 i; i < m; ++i) {
            uint256 end = i + len[i];
            if (len[i] < MIN_WORDS || end <= earlierEnd) continue;
            earlierEnd = end;
            uint256 total;
            for (uint256 k = i; k < end; ++k) total += cost[k];
            if (total < MIN_SPAN_COST) continue;
            uint256 weight;
            for (uint256 k = i > covered ? i : covered; k < end; ++k) weight += cost[k];
            covered = end;
            Chunk memory ch = chunks[bestChunk[i]];
            spans[count++] = Span(uint32(i), uint32(end), ch.contributionId, ch.chunkIndex, uint32(bestJ[i]), uint64(weight));
        }
        assembly ("memory-safe") {
            mstore(spans, count)
        }
    }

    function _credits(Span[] memory spans) private pure returns (Credit[] memory credits) {
        uint256[] memory ids = new uint256[](spans.length);
        uint256[] memory weights = new uint256[](spans.length);
        uint256 n;
        uint256 total;
        for (uint256 s; s < spans.length; ++s) {
            uint256 id = spans[s].contributionId;
            uint256 k;
            while (k < n && ids[k] != id) ++k;
            if (k == n) ids[n++] = id;
            weights[k] += spans[s].weight;
            total += spans[s].weight;
        }
        for (uint256 a = 1; a < n; ++a) {
            for (uint256 b = a; b > 0 && ids[b - 1] > ids[b]; --b) {
                (ids[b - 1], ids[b]) = (ids[b], ids[b - 1]);
                (weights[b - 1], weights[b]) = (weights[b], weights[b - 1]);
            }
        }
        credits = new Credit[](n);
        if (n == 0) return credits;
        uint256[] memory rem = new uint256[](n);
        uint256 assigned;
        for (uint256 k; k < n; ++k) {
            credits[k] = Credit(ids[k], weights[k] * SHARE_TOTAL / total);
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
