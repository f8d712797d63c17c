// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title The part of Staking that settlement and registries use
interface IStaking {
    /// @notice Whether `operator` is registered and its self-stake is at least the minimum.
    function isOperator(address operator) external view returns (bool);

    /// @notice Seconds between an unbond request and its withdrawal (settlement windows must be shorter).
    function unbondingPeriod() external view returns (uint64);

    /// @notice Pulls `amount` $OPEN from the caller and distributes it pro rata over all active stake.
    function notifyReward(uint256 amount) external;

    /// @notice Slashes up to `amount` of `operator`'s pool (active and unbonding stake, proportionally)
    /// and sends the slashed tokens to `recipient`. Only SLASHER_ROLE.
    /// @return slashed The amount actually slashed (at most the pool's total).
    function slash(address operator, uint256 amount, address recipient) external returns (uint256 slashed);
}
