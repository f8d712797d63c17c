// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title The EIP-3009 call InferenceSettlement uses for gasless escrow deposits
interface IEIP3009 {
    /// @notice Transfers `value` from `from` to the caller `to` with `from`'s signed authorization.
    function receiveWithAuthorization(
        address from,
        address to,
        uint256 value,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce,
        bytes calldata signature
    ) external;
}
