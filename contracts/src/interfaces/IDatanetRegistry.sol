// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title The part of DatanetRegistry that ModelRegistry uses
interface IDatanetRegistry {
    /// @notice Whether `account` bought a training license for `snapshotId`.
    function hasLicense(uint256 snapshotId, address account) external view returns (bool);

    /// @notice Whether `snapshotId` was published.
    function snapshotExists(uint256 snapshotId) external view returns (bool);

    /// @notice The Merkle root over the snapshot's accepted chunks.
    function snapshotChunksRoot(uint256 snapshotId) external view returns (bytes32);
}
