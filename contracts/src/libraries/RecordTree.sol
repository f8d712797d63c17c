// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @notice One payout of a record: `amount` wei of the batch's contributors' share to `account`.
struct Payout {
    address account;
    uint256 amount;
}

/// @notice A node of a record tree: its hash and the sum of the payouts below it.
struct SumNode {
    bytes32 hash;
    uint256 sum;
}

/// @title The Merkle sum tree over a batch's attribution records
/// @notice Leaf `i` is record `i`: hash `keccak256(abi.encode(attributionHash, payouts))`, sum the payouts'
/// total. A parent is `keccak256(abi.encode(left.hash, left.sum, right.hash, right.sum))` with the sum of
/// both; the tree is padded with (0, 0) nodes to a power of two, so a proof of record `i` is one sibling per
/// level and the bits of `i` say on which side. The root's sum is the batch's contributors' share, so the
/// records pay out exactly that share and no record can pay more than the tree gives it.
library RecordTree {
    /// @notice A record's leaf hash and payout total.
    function leaf(bytes32 attributionHash, Payout[] calldata payouts) internal pure returns (SumNode memory node) {
        uint256 sum;
        for (uint256 i; i < payouts.length; ++i) {
            sum += payouts[i].amount;
        }
        node = SumNode(keccak256(abi.encode(attributionHash, payouts)), sum);
    }

    /// @notice The root reached from `node` at `index` with `proof`; ok is false when `index` does not fit
    /// the proof's depth (so each record has exactly one index).
    function root(SumNode memory node, uint256 index, SumNode[] calldata proof)
        internal
        pure
        returns (bool ok, SumNode memory top)
    {
        if (index >> proof.length != 0) return (false, node);
        top = node;
        for (uint256 level; level < proof.length; ++level) {
            SumNode calldata sibling = proof[level];
            top = (index >> level) & 1 == 0 ? _parent(top, sibling) : _parent(sibling, top);
        }
        ok = true;
    }

    function _parent(SumNode memory left, SumNode memory right) private pure returns (SumNode memory) {
        return SumNode(keccak256(abi.encode(left.hash, left.sum, right.hash, right.sum)), left.sum + right.sum);
    }
}
