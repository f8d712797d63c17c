// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title The part of ModelRegistry that InferenceSettlement uses
interface IModelRegistry {
    /// @notice The model's owner (zero when the model does not exist).
    function ownerOf(uint256 modelId) external view returns (address);

    /// @notice Whether the model exists and is not retired.
    function isActive(uint256 modelId) external view returns (bool);
}
