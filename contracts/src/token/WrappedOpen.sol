// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {PaymentToken} from "./PaymentToken.sol";

/// @title WOPEN, wrapped native OPEN
/// @notice On chains whose native currency is OPEN (the OpenLedger L2), native OPEN deposited here is
/// minted 1:1 as an ERC-20 with the same permit, EIP-3009 and votes surface as $OPEN, so the protocol
/// contracts see one ERC-20 on every chain. Invariant: native balance >= totalSupply.
contract WrappedOpen is PaymentToken {
    /// @notice `account` deposited `amount` native OPEN and received as much WOPEN.
    event Deposit(address indexed account, uint256 amount);
    /// @notice `account` burned `amount` WOPEN and `to` received as much native OPEN.
    event Withdrawal(address indexed account, address indexed to, uint256 amount);

    /// @notice Sending native OPEN to `to` failed.
    error NativeTransferFailed(address to, uint256 amount);

    constructor() PaymentToken("Wrapped OPEN", "WOPEN") {}

    /// @notice Wraps the native OPEN sent with the call.
    receive() external payable {
        _deposit();
    }

    /// @notice Wraps the native OPEN sent with the call, 1:1, to the caller.
    function deposit() external payable {
        _deposit();
    }

    /// @notice Burns `amount` WOPEN and sends as much native OPEN to the caller.
    /// @param amount Amount in wei.
    function withdraw(uint256 amount) external {
        _withdraw(payable(msg.sender), amount);
    }

    /// @notice Burns `amount` WOPEN of the caller and sends as much native OPEN to `to`.
    /// @param to Receiver of the native OPEN.
    /// @param amount Amount in wei.
    function withdrawTo(address payable to, uint256 amount) external {
        _withdraw(to, amount);
    }

    function _deposit() private {
        _mint(msg.sender, msg.value);
        emit Deposit(msg.sender, msg.value);
    }

    function _withdraw(address payable to, uint256 amount) private {
        _burn(msg.sender, amount);
        emit Withdrawal(msg.sender, to, amount);
        (bool ok,) = to.call{value: amount}("");
        if (!ok) revert NativeTransferFailed(to, amount);
    }
}
