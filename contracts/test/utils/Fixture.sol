// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Test} from "forge-std/Test.sol";
import {DatanetRegistry} from "../../src/DatanetRegistry.sol";
import {InferenceSettlement} from "../../src/InferenceSettlement.sol";
import {ModelRegistry} from "../../src/ModelRegistry.sol";
import {Staking} from "../../src/Staking.sol";
import {IAttributionVerifier} from "../../src/interfaces/IAttributionVerifier.sol";
import {IDatanetRegistry} from "../../src/interfaces/IDatanetRegistry.sol";
import {IModelRegistry} from "../../src/interfaces/IModelRegistry.sol";
import {IStaking} from "../../src/interfaces/IStaking.sol";
import {Payout} from "../../src/libraries/RecordTree.sol";
import {OpenToken} from "../../src/token/OpenToken.sol";

/// @notice A verifier for tests: a record is wrong when the evidence is abi.encode(recomputed) with
/// `recomputed` different from keccak256 of the record's attribution; an evidence answer is complete when it
/// repeats the attribution bytes.
contract RecomputingVerifier is IAttributionVerifier {
    function verifyChallenge(bytes calldata attribution, Payout[] calldata, bytes calldata evidence)
        external
        pure
        returns (bool)
    {
        if (evidence.length != 32) return false;
        return abi.decode(evidence, (bytes32)) != keccak256(attribution);
    }

    function verifyAnswer(bytes calldata attribution, bytes calldata answer) external pure returns (bool) {
        return keccak256(answer) == keccak256(attribution);
    }
}

/// @notice Deploys the whole protocol in the README's order.
abstract contract Fixture is Test {
    uint256 internal constant GENESIS = 1_000_000_000 ether;
    uint256 internal constant MIN_STAKE = 1_000 ether;
    uint64 internal constant UNBONDING = 7 days;
    uint64 internal constant WINDOW = 1 hours;
    uint64 internal constant WITHDRAW_DELAY = 1 days;

    address internal admin = makeAddr("admin");
    address internal treasury = makeAddr("treasury");

    OpenToken internal token;
    Staking internal staking;
    DatanetRegistry internal datanets;
    ModelRegistry internal models;
    InferenceSettlement internal settlement;

    function deployProtocol() internal {
        token = new OpenToken(admin, treasury, GENESIS);
        staking = new Staking(admin, token, MIN_STAKE, UNBONDING);
        datanets = new DatanetRegistry(token);
        models = new ModelRegistry(IDatanetRegistry(address(datanets)));
        settlement = new InferenceSettlement(
            admin, token, IStaking(address(staking)), IModelRegistry(address(models)), treasury, WINDOW, WITHDRAW_DELAY
        );
        bytes32 slasherRole = staking.SLASHER_ROLE();
        vm.prank(admin);
        staking.grantRole(slasherRole, address(settlement));
    }

    function fund(address to, uint256 amount) internal {
        vm.prank(treasury);
        token.transfer(to, amount);
    }

    function fundAndApprove(address who, address spender, uint256 amount) internal {
        fund(who, amount);
        vm.prank(who);
        token.approve(spender, type(uint256).max);
    }
}
