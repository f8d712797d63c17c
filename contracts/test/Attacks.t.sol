// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {InferenceSettlement} from "../src/InferenceSettlement.sol";
import {IAttributionVerifier} from "../src/interfaces/IAttributionVerifier.sol";
import {Payout, SumNode} from "../src/libraries/RecordTree.sol";
import {SettlementBase} from "./InferenceSettlement.t.sol";
import {Records} from "./utils/Records.sol";

contract AlwaysWrong is IAttributionVerifier {
    function verifyChallenge(bytes calldata, Payout[] calldata, bytes calldata) external pure returns (bool) {
        return true;
    }

    function verifyAnswer(bytes calldata, bytes calldata) external pure returns (bool) {
        return false;
    }
}

/// @notice Issue 18's settlement attacks, each of which succeeded on the contracts before the fix (commit
/// dbc9e41), now failing. The verifier attacks (2, 3, 4) are in SpanV1Verifier.t.sol, the bond attack (7)
/// in DatanetRegistry.t.sol.
contract AttacksTest is SettlementBase {
    address victim = makeAddr("victim");
    address attacker = makeAddr("attacker");

    function setUp() public {
        _setUpProtocol();
        fundAndApprove(victim, address(settlement), 1_000_000 ether);
        vm.prank(victim);
        settlement.deposit(1_000_000 ether);
    }

    function _one(address payer, uint256 amount) internal pure returns (address[] memory p, uint256[] memory a) {
        p = new address[](1);
        p[0] = payer;
        a = new uint256[](1);
        a[0] = amount;
    }

    /// 1. A staked operator can no longer debit an escrow that did not authorise it, nor beyond its cap.
    function test_attack1_noDebitWithoutThePayersAuthorisation() public {
        fundAndApprove(attacker, address(staking), MIN_STAKE);
        vm.startPrank(attacker);
        staking.stake(attacker, MIN_STAKE);
        uint256 model = models.registerModel("");
        (address[] memory payers, uint256[] memory amounts) = _one(victim, 1_000_000 ether);
        (,,, uint256 contributors) = settlement.splitFee(1_000_000 ether);
        bytes32 root = Records.leaf(keccak256("no records"), Records.one(attacker, contributors)).hash;
        vm.expectRevert(abi.encodeWithSelector(InferenceSettlement.SpendingAuthorizationExpired.selector, victim, 0));
        settlement.postBatch(model, payers, amounts, 0, root, contributors);
        vm.stopPrank();

        // the operator the victim did authorise is held to the cap
        vm.prank(victim);
        settlement.authorize(operator, 10 ether, uint64(block.timestamp + 1 days), false);
        vm.expectRevert(
            abi.encodeWithSelector(InferenceSettlement.SpendingCapExceeded.selector, victim, 10 ether, 1_000_000 ether)
        );
        vm.prank(operator);
        settlement.postBatch(modelId, payers, amounts, 0, root, contributors);
        assertEq(settlement.escrowOf(victim), 1_000_000 ether);
    }

    /// 5. Refunds are pulled account by account, so any batch size can be refunded.
    function test_attack5_refundsArePerAccount() public {
        uint256 n = 100;
        address[] memory payers = new address[](n);
        uint256[] memory amounts = new uint256[](n);
        for (uint256 i; i < n; i++) {
            payers[i] = address(uint160(0x9000 + i));
            amounts[i] = 1 ether;
            _payer(payers[i], 1 ether, false);
        }
        _useVerifier();
        Posted memory p = _post(payers, amounts, 0);
        settlement.challenge(p.batchId, _record(p, 0), abi.encode(bytes32(0)));
        InferenceSettlement.Debit[] memory one = new InferenceSettlement.Debit[](1);
        uint256 most;
        for (uint256 i; i < n; i++) {
            one[0] = _debit(p, i);
            vm.cool(address(settlement));
            uint256 g = gasleft();
            settlement.refund(p.batchId, one);
            g -= gasleft();
            if (g > most) most = g;
            assertEq(settlement.escrowOf(payers[i]), 1 ether);
        }
        assertLt(most, 80_000); // per account, whatever the batch size
        assertEq(settlement.totalLocked(), 0);
    }

    /// 6. A matured withdrawal request expires, so it cannot front-run a batch any time later.
    function test_attack6_maturedRequestsExpire() public {
        vm.prank(victim);
        settlement.requestWithdrawal(1_000_000 ether);
        InferenceSettlement.Escrow memory e = settlement.escrowDetails(victim);
        vm.warp(block.timestamp + 365 days);
        vm.expectRevert(
            abi.encodeWithSelector(InferenceSettlement.WithdrawalExpired.selector, victim, e.expiresAt, block.timestamp)
        );
        vm.prank(victim);
        settlement.withdraw();
        assertEq(settlement.escrowOf(victim), 1_000_000 ether);
    }

    /// 11. An admin cannot change the verifier (or slash terms) under a posted batch.
    function test_attack11_parametersOfAPostedBatchCannotChange() public {
        IAttributionVerifier honest = _useVerifier();
        (address[] memory payers, uint256[] memory amounts) = _one(victim, 1 ether);
        vm.prank(victim);
        settlement.authorize(operator, 1 ether, uint64(block.timestamp + 1 days), false);
        Posted memory p = _post(payers, amounts, 0);
        IAttributionVerifier alwaysWrong = new AlwaysWrong();
        InferenceSettlement.Params memory next = _currentParams();
        (next.verifier, next.slashAmount, next.challengerRewardBps) = (alwaysWrong, 1_000_000 ether, 10_000);
        vm.prank(admin);
        settlement.setParams(next);
        vm.warp(settlement.pendingParamsEta());
        settlement.activateParams();
        assertEq(address(settlement.verifier()), address(alwaysWrong));
        assertEq(address(settlement.paramsOf(settlement.getBatch(p.batchId).paramsId).verifier), address(honest));
        // the batch's window closed long before the change could take effect
        InferenceSettlement.Record memory r = _record(p, 0);
        uint64 closed = settlement.getBatch(p.batchId).finalizableAt;
        vm.expectRevert(
            abi.encodeWithSelector(
                InferenceSettlement.ChallengeWindowClosed.selector, p.batchId, closed, block.timestamp
            )
        );
        settlement.challenge(p.batchId, r, "");
        settlement.finalizeBatch(p.batchId);
        assertEq(uint8(settlement.getBatch(p.batchId).status), uint8(InferenceSettlement.BatchStatus.Finalized));
        assertEq(staking.stakeOf(operator, operator), 5_000 ether);
    }
}
