// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {PaymentToken} from "./PaymentToken.sol";

/// @title $OPEN, the OpenLedger token
/// @notice A fixed genesis supply is minted to a treasury at deployment. Afterwards only holders of
/// BRIDGE_ROLE (the L1<->L2 bridge) may mint or burn; nothing else changes the supply.
contract OpenToken is PaymentToken, AccessControl {
    /// @notice Role allowed to mint and burn (the bridge).
    bytes32 public constant BRIDGE_ROLE = keccak256("BRIDGE_ROLE");

    /// @notice The bridge minted `amount` to `to`.
    event BridgeMint(address indexed bridge, address indexed to, uint256 amount);
    /// @notice The bridge burned `amount` from `from`.
    event BridgeBurn(address indexed bridge, address indexed from, uint256 amount);

    /// @param admin Holder of DEFAULT_ADMIN_ROLE (grants BRIDGE_ROLE).
    /// @param treasury Receiver of the genesis supply.
    /// @param genesisSupply Tokens minted at deployment, in wei.
    constructor(address admin, address treasury, uint256 genesisSupply) PaymentToken("OpenLedger", "OPEN") {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _mint(treasury, genesisSupply);
    }

    /// @notice Mints bridged tokens. Only BRIDGE_ROLE.
    /// @param to Receiver.
    /// @param amount Amount in wei.
    function mint(address to, uint256 amount) external onlyRole(BRIDGE_ROLE) {
        _mint(to, amount);
        emit BridgeMint(msg.sender, to, amount);
    }

    /// @notice Burns tokens leaving through the bridge. Only BRIDGE_ROLE; needs `from`'s allowance
    /// to the bridge unless `from` is the bridge itself.
    /// @param from Account whose tokens are burned.
    /// @param amount Amount in wei.
    function burn(address from, uint256 amount) external onlyRole(BRIDGE_ROLE) {
        if (from != msg.sender) _spendAllowance(from, msg.sender, amount);
        _burn(from, amount);
        emit BridgeBurn(msg.sender, from, amount);
    }
}
