// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title What span-v1 and span-v2 share, computed in Solidity
/// @notice Chunks and credits, the tokeniser (words and their keccak256), the rarity cost table, the
/// chunk checks, one row of the output-by-chunk match table, largest-remainder shares and the canonical
/// snapshot roots (specification in packages/attribution/README.md). {SpanV1} and {SpanV2} differ only in
/// which matches they keep and how credit follows them.
/// Texts must be valid UTF-8 in Unicode NFC (the precompiles check this; this library assumes it).
library SpanText {
    struct Chunk {
        uint256 contributionId;
        uint32 chunkIndex;
        bytes text;
    }

    struct Credit {
        uint256 contributionId;
        uint256 share;
    }

    /// @notice The output exceeds the limits (32,768 bytes, 4,096 words).
    error SpanOutputTooLarge(uint256 byteLength, uint256 wordCount);
    /// @notice Two chunks share (contributionId, chunkIndex) but not their text.
    error SpanConflictingChunk(uint256 contributionId, uint32 chunkIndex);
    /// @notice Contribution ids start at 1.
    error SpanZeroContributionId(uint256 chunkPosition);

    uint256 internal constant MIN_WORDS = 4;
    uint256 internal constant MIN_SPAN_COST = 40;
    uint256 internal constant DEFAULT_WORD_COST = 12;
    uint256 internal constant MAX_OUTPUT_BYTES = 32_768;
    uint256 internal constant MAX_OUTPUT_WORDS = 4_096;
    uint256 internal constant SHARE_TOTAL = 1_000_000;

    /// @dev Sorted (uint32 key, uint8 cost) entries, 5 bytes each; key = first 4 bytes of keccak256(word).
    /// Generated from packages/attribution/src/costTable.ts (see test/vectors/vectors.ts).
    bytes internal constant COST_TABLE = hex"001c0e580801544bad0501d76efa080338098605044852b20504bf2d3f0604d5a84b06067ac48c0606b0a4f40806f2aea8080737871705073b177e050762b94b08081c9cb70608252039080872fecf0808c183c60809248d9d0809379093080a654b06080b42b639050b8af30d060bfab802080c1bf551060c5385b0060cb8b98b080ce5bbc3060d7dad84080e00d65a080e08a1d4080f1a0c3408112c413d061236d2c8061243530d061275825306135149a40813600b290514bcc4350514eb9bfb0816a69a64061a13d19a081a6c7a2b081aa3cab5081ab7a0de081b56e270041eb39d9b0620db4bb30620f87ab306211efb2e0421c010730821c768640522eb5fc7062304e88f052336345b06236145830823914e6a0823dc111d05245e989b0824faf34a082625616e0626276b07082642c6360826b60b6b0626e59ba90528b81c8e062901b40c062a80e1ef052ab76b08062d9fff2a082ebe351f0830f1072206322e0db80832cefdcd0532fca86b06332c39dc0633a5de4c0834cd620f0834cea71605350cfa97083573a8a50836a6e2120636ad643d0636f633160637ba2e6f08387623ad063ac22516043ae7be79083bdb6b41063be350c5053c0c3a25083ce43ebc083d990fe9063ddf993e083de7a3d8083e020495063f0a9764063f0b71cd083ff269d30541084f5d05414f72a40541e406690541e691fc0643a77ae9084436638508449e66000844d17b570645318970084540e813064566cb8708457d2bee0845a915e4054639789e084646c97608466f561908469f254a084701464006477f3b370847cbbe8a06481d8ca7084842bbd50648601da70848a8a397064b4ecedb054b64cfd2084c37e0cf084d68d74f084d9d0ff0084e7e8301064f0b7888084fede7ff084ff957940550bbe5b90551222757085162b3ff0851cb91940651f5a7f60852a10c340852f1a9b30553a63b3e0553cd20a70853f98dc00853ff389706543c6c6b0654453c150854ad1fda085585995b085755034706580a0c010858d5df6c0458ea69a508592ba89505595e34f10859fd42d7085a99ce34055bc53474085bfbbf75065c7d18be085cb4ee41085dd21dd9085e205308085e54c017085efdf9df065f00a451085f37cc91065f51543d065f576e51085fe13c3508602eb3230660a73bfb0561e5e5c7066273151f086336e67f08634a3e3c086354175e0863917f460863b513c408644836c2056460d40e0564b5f23b0565b4e6a30865d1a3d50665ef8281086613dba70867b14d9f086817c00f0668371d7e08686f60ef05692e3fbb0669e39af3066a0d259b056af94154086b3b08b0086b6a92c2086fd43e7c087104cffd0871201fb50871c7155e0871fef6710472586f37087433bb18087464bd9208749515760674c1a9bb067521d1ca05765b69550877449f66087823c0030478b77f9706795caba106796e62cf087aac2da9087b6396a8067bc6cf7d087c4aa055087d6119d3067e64f70c067f73c54508805a29310682247b4208833eaaaa0583847cf3058446fbb0058452c9b90684683ce40884cba06805887e26e30688d5f7720689027a4d0689735c210889a666cc0889d60f75088ae764b3088b6845f0088e44197a088e49c277088e53a19a088fb69fe5069038dc8406914ec83906923481f60892be748708932bf98a0894cb72bb0895320bd0059556cb7c08999ca2160899b6c68d0899f30275089a13cda0089ab32c53089cb4777b069d21e95f089d3a8228069d45de0c089e0d771b069f3ec50706a01ebb7608a147871e05a1af345308a24bb33608a25dd13706a38ffea208a457391208a766932405a7bd495d08a83c677408a8982c8905a8e4bb0208a900ff8905a9e20c0708aa06306306aa5c745f08ab716ca906abfd4c2a06acedc9d308ad6d15d306ad77fbf806ad7c5bef05ada575b908ae4459fe08ae9d612208aebf560e08af58ffb808afb94ff808afc199c408b0fc358a08b311460908b31d742d05b3f16acd08b4c11afb06b5553de305b6bb277706b83d76e108b9128cc108b9972e0a06bb1a626408bb49e51c08bb652b9208bbfd0a3408bc22d39208bd0da0f906bd26aee808bd63f8f108be655f6508bf27041108bf39585e05c02a2b3908c1cbe05705c5bc7f4b06c72ffa7a08c82fcd7008c837324e08c89efdaa05c9b5351308c9ddd71108ca462bad08cac1bb7105cb0b525005cdd7377b08ce7d736906ceebf77a05d1e8aeb705d1ef468106d2091d0705d22c79ae08d248f46e08d2f67e6a08d2f8f61205d35823db06d6a1baa706d717b4ca06d82a5ea906d8ae6dfd08d952fe0708da3dbc2d06da69236006daaf9ad805daba8c9805db053ba008db2541d308db71d39a06dc47bd7808dca72eea08ddcb37d308de4812e208de88098908df79874d08e02b717e08e15a6a3a06e22acf6b08e3775e8e08e455bf8e05e4b1702d05e4ce02ee08e4ea5a9608e4fff31e08e51054c405e65d809c06e6efe85806e8129c0108e9d65c2506ea00237e05ea74b74508ea90fb9508ea9b5f1506eb1a536905ec842d5108eec4f2ae06ef86132806efee3a2408f00823a608f04eb02f08f13f8f4806f1918e8505f1a1906f08f1b24c9e08f25934da08f3cfb37806f3d0adcb05f43adf3708f518aeb008f648814c08f652be7e06f6832a2a06f6d8c92808f99975b106fb79856d06fc278b7508fc8c459708fd62e8c808fe589e7008fefed50806ffc8ab3408";

    /// @notice The word hashes of an output, checked against the output limits.
    function outputWords(bytes memory output) internal pure returns (bytes32[] memory o) {
        o = wordHashes(output);
        if (output.length > MAX_OUTPUT_BYTES || o.length > MAX_OUTPUT_WORDS) {
            revert SpanOutputTooLarge(output.length, o.length);
        }
    }

    /// @notice keccak256 of each span word (ASCII-lower-cased UTF-8 bytes) of `text`, in order.
    /// @dev One pass in assembly; code point lengths come from lead bytes as in the TypeScript library.
    function wordHashes(bytes memory text) internal pure returns (bytes32[] memory hashes) {
        uint256 n = text.length;
        hashes = new bytes32[](n / 2 + 1);
        bytes memory buf = new bytes(n + 4);
        assembly ("memory-safe") {
            let src := add(text, 32)
            let dst := add(buf, 32)
            let out := add(hashes, 32)
            let count := 0
            let bl := 0
            for { let p := 0 } lt(p, n) {} {
                let w := mload(add(src, p))
                let b0 := byte(0, w)
                let cl := 1
                if gt(b0, 0x7f) {
                    cl := 2
                    if gt(b0, 0xdf) {
                        cl := 3
                        if gt(b0, 0xef) { cl := 4 }
                    }
                }
                let sep := 0
                switch cl
                case 1 {
                    let digit := and(gt(b0, 0x2f), lt(b0, 0x3a))
                    let upper := and(gt(b0, 0x40), lt(b0, 0x5b))
                    let lower := and(gt(b0, 0x60), lt(b0, 0x7b))
                    sep := iszero(or(digit, or(upper, lower)))
                    if upper { w := add(w, shl(248, 0x20)) }
                }
                case 2 {
                    let b1 := byte(1, w)
                    sep := or(eq(b0, 0xc2), and(eq(b0, 0xc3), or(eq(b1, 0x97), eq(b1, 0xb7))))
                }
                case 3 {
                    let b1 := byte(1, w)
                    sep :=
                        or(
                            and(eq(b0, 0xe2), or(eq(b1, 0x80), eq(b1, 0x81))),
                            or(and(eq(b0, 0xe3), eq(b1, 0x80)), and(eq(b0, 0xef), and(eq(b1, 0xbb), eq(byte(2, w), 0xbf))))
                        )
                }
                switch sep
                case 0 {
                    // Append the code point's bytes (w's leading bytes); later bytes are overwritten.
                    mstore(add(dst, bl), w)
                    bl := add(bl, cl)
                }
                default {
                    if bl {
                        mstore(add(out, shl(5, count)), keccak256(dst, bl))
                        count := add(count, 1)
                        bl := 0
                    }
                }
                p := add(p, cl)
            }
            if bl {
                mstore(add(out, shl(5, count)), keccak256(dst, bl))
                count := add(count, 1)
            }
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

    /// @notice The cost of each output word.
    function costs(bytes32[] memory o) internal pure returns (uint256[] memory cost) {
        bytes memory table = COST_TABLE;
        cost = new uint256[](o.length);
        for (uint256 i; i < o.length; ++i) cost[i] = wordCost(table, o[i]);
    }

    /// @notice Reverts unless every chunk has a contribution id and no (contributionId, chunkIndex) has two texts.
    function checkChunks(Chunk[] memory chunks) internal pure {
        for (uint256 a; a < chunks.length; ++a) {
            if (chunks[a].contributionId == 0) revert SpanZeroContributionId(a);
            for (uint256 b; b < a; ++b) {
                if (
                    chunks[a].contributionId == chunks[b].contributionId && chunks[a].chunkIndex == chunks[b].chunkIndex
                        && keccak256(chunks[a].text) != keccak256(chunks[b].text)
                ) revert SpanConflictingChunk(chunks[a].contributionId, chunks[a].chunkIndex);
            }
        }
    }

    /// @notice One row of the match table, bottom-up: with `next[j]` the common prefix length of the output
    /// from word i+1 and the chunk from word j, sets `cur[j]` for output word `oi` (`w[j] == oi ? next[j + 1] + 1
    /// : 0`). Returns the row's maximum and the first j reaching it.
    function matchRow(bytes32 oi, bytes32[] memory w, uint256[] memory next, uint256[] memory cur)
        internal
        pure
        returns (uint256 rowBest, uint256 rowJ)
    {
        assembly ("memory-safe") {
            let n := mload(w)
            let wp := add(w, 32)
            let np := add(next, 64)
            let cp := add(cur, 32)
            for { let off := 0 } lt(off, shl(5, n)) { off := add(off, 32) } {
                let v := 0
                if eq(mload(add(wp, off)), oi) { v := add(mload(add(np, off)), 1) }
                mstore(add(cp, off), v)
                if gt(v, rowBest) {
                    rowBest := v
                    rowJ := shr(5, off)
                }
            }
        }
    }

    /// @notice Credits from weighted items (spans or segments): weights summed per contribution, credits in
    /// ascending contributionId, `share = floor(W_c * 1e6 / W)` and the remaining units one each to the
    /// largest remainders, ties to the lower id. No items: no credits.
    function credits(uint256[] memory itemIds, uint256[] memory itemWeights)
        internal
        pure
        returns (Credit[] memory out)
    {
        uint256[] memory ids = new uint256[](itemIds.length);
        uint256[] memory weights = new uint256[](itemIds.length);
        uint256 n;
        uint256 total;
        for (uint256 s; s < itemIds.length; ++s) {
            uint256 id = itemIds[s];
            uint256 k;
            while (k < n && ids[k] != id) ++k;
            if (k == n) ids[n++] = id;
            weights[k] += itemWeights[s];
            total += itemWeights[s];
        }
        for (uint256 a = 1; a < n; ++a) {
            for (uint256 b = a; b > 0 && ids[b - 1] > ids[b]; --b) {
                (ids[b - 1], ids[b]) = (ids[b], ids[b - 1]);
                (weights[b - 1], weights[b]) = (weights[b], weights[b - 1]);
            }
        }
        out = new Credit[](n);
        if (n == 0) return out;
        uint256[] memory rem = new uint256[](n);
        uint256 assigned;
        for (uint256 k; k < n; ++k) {
            out[k] = Credit(ids[k], weights[k] * SHARE_TOTAL / total);
            rem[k] = weights[k] * SHARE_TOTAL % total;
            assigned += out[k].share;
        }
        // Largest remainder first, ties to the lower contributionId (ids are ascending).
        for (uint256 left = SHARE_TOTAL - assigned; left > 0; --left) {
            uint256 pick = type(uint256).max;
            for (uint256 k; k < n; ++k) {
                if (rem[k] != type(uint256).max && (pick == type(uint256).max || rem[k] > rem[pick])) pick = k;
            }
            out[pick].share += 1;
            rem[pick] = type(uint256).max;
        }
    }

    /// @notice The roots ascending and distinct, as the commitments take them.
    function sortedRoots(bytes32[] memory roots) internal pure returns (bytes32[] memory sorted) {
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
