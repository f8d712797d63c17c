// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Payout, SumNode} from "../../src/libraries/RecordTree.sol";

/// @notice Test-side builders for a batch's trees: the records sum tree (padded to a power of two) and the
/// debits tree in the merkle package's array layout (leaf k at node 2n-2-k, sorted-pair hashing).
library Records {
    function leaf(bytes32 attributionHash, Payout[] memory payouts) internal pure returns (SumNode memory node) {
        uint256 sum;
        for (uint256 i; i < payouts.length; ++i) {
            sum += payouts[i].amount;
        }
        node = SumNode(keccak256(abi.encode(attributionHash, payouts)), sum);
    }

    function parent(SumNode memory l, SumNode memory r) internal pure returns (SumNode memory) {
        return SumNode(keccak256(abi.encode(l.hash, l.sum, r.hash, r.sum)), l.sum + r.sum);
    }

    /// @notice Every level of the padded tree, leaves first.
    function levels(SumNode[] memory leaves) internal pure returns (SumNode[][] memory out) {
        uint256 width = 1;
        uint256 depth;
        while (width < leaves.length) {
            width *= 2;
            ++depth;
        }
        out = new SumNode[][](depth + 1);
        out[0] = new SumNode[](width);
        for (uint256 i; i < leaves.length; ++i) {
            out[0][i] = leaves[i];
        }
        for (uint256 d = 1; d <= depth; ++d) {
            out[d] = new SumNode[](width >> d);
            for (uint256 i; i < out[d].length; ++i) {
                out[d][i] = parent(out[d - 1][2 * i], out[d - 1][2 * i + 1]);
            }
        }
    }

    function root(SumNode[] memory leaves) internal pure returns (SumNode memory) {
        SumNode[][] memory l = levels(leaves);
        return l[l.length - 1][0];
    }

    function proof(SumNode[] memory leaves, uint256 index) internal pure returns (SumNode[] memory p) {
        SumNode[][] memory l = levels(leaves);
        p = new SumNode[](l.length - 1);
        for (uint256 d; d < p.length; ++d) {
            p[d] = l[d][(index >> d) ^ 1];
        }
    }

    function one(address account, uint256 amount) internal pure returns (Payout[] memory p) {
        p = new Payout[](1);
        p[0] = Payout(account, amount);
    }

    function debitLeaf(address account, uint256 amount, uint256 spentAfter, bool voucherOnly)
        internal
        pure
        returns (bytes32)
    {
        return keccak256(bytes.concat(keccak256(abi.encode(account, amount, spentAfter, voucherOnly))));
    }

    function _hashPair(bytes32 a, bytes32 b) private pure returns (bytes32) {
        return a < b ? keccak256(abi.encodePacked(a, b)) : keccak256(abi.encodePacked(b, a));
    }

    function _nodes(bytes32[] memory leaves) private pure returns (bytes32[] memory nodes) {
        uint256 n = leaves.length;
        nodes = new bytes32[](2 * n - 1);
        for (uint256 k; k < n; ++k) {
            nodes[2 * n - 2 - k] = leaves[k];
        }
        for (uint256 i = n - 1; i > 0;) {
            --i;
            nodes[i] = _hashPair(nodes[2 * i + 1], nodes[2 * i + 2]);
        }
    }

    function debitsRoot(bytes32[] memory leaves) internal pure returns (bytes32) {
        return _nodes(leaves)[0];
    }

    function debitProof(bytes32[] memory leaves, uint256 index) internal pure returns (bytes32[] memory) {
        bytes32[] memory nodes = _nodes(leaves);
        bytes32[] memory path = new bytes32[](64);
        uint256 depth;
        uint256 i = 2 * leaves.length - 2 - index;
        while (i > 0) {
            path[depth++] = nodes[i % 2 == 1 ? i + 1 : i - 1];
            i = (i - 1) / 2;
        }
        bytes32[] memory out = new bytes32[](depth);
        for (uint256 k; k < depth; ++k) {
            out[k] = path[k];
        }
        return out;
    }
}
