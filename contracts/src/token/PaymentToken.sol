// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {ERC20Votes} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Votes.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";
import {EIP3009} from "./EIP3009.sol";

/// @title The ERC-20 surface shared by $OPEN and its wrapped-native form
/// @notice ERC-20 + EIP-2612 permit + EIP-3009 authorizations + ERC20Votes, one EIP-712 domain
/// (name = token name, version "1").
abstract contract PaymentToken is ERC20Permit, ERC20Votes, EIP3009 {
    constructor(string memory name_, string memory symbol_) ERC20(name_, symbol_) ERC20Permit(name_) {}

    /// @notice The EIP-2612 permit nonce of `owner` (also used by ERC20Votes delegateBySig).
    /// @param owner The account.
    /// @return The next nonce.
    function nonces(address owner) public view override(ERC20Permit, Nonces) returns (uint256) {
        return super.nonces(owner);
    }

    function _update(address from, address to, uint256 value) internal virtual override(ERC20, ERC20Votes) {
        super._update(from, to, value);
    }
}
