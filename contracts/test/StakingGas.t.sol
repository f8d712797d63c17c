// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {console} from "forge-std/Test.sol";
import {SettlementBase} from "./InferenceSettlement.t.sol";

/// @notice Gas of the staking paths a batch touches, on cold storage (printed with -vv): a delegation,
/// an unbond, posting, finalizing (which pays the stakers' share to Staking) and a challenge that reverts
/// the batch and slashes its operator.
contract StakingGasTest is SettlementBase {
    address delegator = makeAddr("delegator");

    function setUp() public {
        _setUpProtocol();
        _useVerifier();
        _payer(alice, 1_000 ether, false);
        _payer(bob, 1_000 ether, false);
        fundAndApprove(delegator, address(staking), 10_000 ether);
    }

    function test_gasOfStakingPaths() public {
        vm.cool(address(staking));
        uint256 g = gasleft();
        vm.prank(delegator);
        staking.stake(operator, 1_000 ether);
        console.log("stake (delegation)     %d", g - gasleft());

        vm.cool(address(staking));
        g = gasleft();
        vm.prank(delegator);
        staking.unbond(operator, 500 ether);
        console.log("unbond                 %d", g - gasleft());

        vm.cool(address(staking));
        vm.cool(address(settlement));
        g = gasleft();
        Posted memory p = _postTwo(10 ether, 20 ether);
        console.log("postBatch (2 payers)   %d (with the test's record building)", g - gasleft());

        vm.warp(settlement.getBatch(p.batchId).finalizableAt);
        vm.cool(address(staking));
        vm.cool(address(settlement));
        g = gasleft();
        settlement.finalizeBatch(p.batchId);
        console.log("finalizeBatch          %d", g - gasleft());

        Posted memory q = _postTwo(10 ether, 20 ether);
        vm.cool(address(staking));
        vm.cool(address(settlement));
        g = gasleft();
        settlement.challenge(q.batchId, _record(q, 0), abi.encode(bytes32(0)));
        console.log("challenge (revert, slash) %d", g - gasleft());
    }
}
