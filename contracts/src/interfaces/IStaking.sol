// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title The part of Staking that settlement and registries use
interface IStaking {
    /// @notice Whether `operator` is registered and its active self-stake is at least the minimum.
    function isOperator(address operator) external view returns (bool);

    /// @notice Seconds between an unbond request and its withdrawal (settlement windows must be shorter).
    function unbondingPeriod() external view returns (uint64);

    /// @notice Opens the caller's batch `batchId` on `operator`'s pool when it is posted: stake arriving
    /// from now on warms up until the batch is closed. Only SLASHER_ROLE.
    function openBatch(address operator, uint256 batchId) external;

    /// @notice Closes the caller's batch `batchId` when it is finalized and pulls `reward` from the caller
    /// for the active stake of its operator's pool (all of it bonded when the batch was opened).
    /// Only SLASHER_ROLE.
    function closeBatch(uint256 batchId, uint256 reward) external;

    /// @notice Closes the caller's batch `batchId` when it is reverted and slashes up to `amount` of its
    /// operator's active stake (all of it bonded when the batch was opened; unbonded stake is not cut),
    /// sending the slashed tokens to `recipient`. Only SLASHER_ROLE.
    /// @return slashed The amount actually slashed (at most the pool's active stake).
    function slashBatch(uint256 batchId, uint256 amount, address recipient) external returns (uint256 slashed);

    /// @notice Slashes up to `amount` of `operator`'s active stake for a fault found now and sends the
    /// slashed tokens to `recipient`. Only SLASHER_ROLE.
    /// @return slashed The amount actually slashed (at most the pool's active stake).
    function slash(address operator, uint256 amount, address recipient) external returns (uint256 slashed);
}
