// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title The part of DatanetRegistry that ModelRegistry and the attribution verifiers use
interface IDatanetRegistry {
    /// @notice Whether `account` bought a training license for `snapshotId`.
    function hasLicense(uint256 snapshotId, address account) external view returns (bool);

    /// @notice Whether `snapshotId` was published.
    function snapshotExists(uint256 snapshotId) external view returns (bool);

    /// @notice Who submitted contribution `contributionId` (zero when unknown).
    function contributorOf(uint256 contributionId) external view returns (address);

    /// @notice The Merkle root over the snapshot's accepted chunks.
    function snapshotChunksRoot(uint256 snapshotId) external view returns (bytes32);
}
