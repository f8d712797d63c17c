// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {InferenceSettlement} from "../src/InferenceSettlement.sol";
import {Staking} from "../src/Staking.sol";
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
/// dbc9e41; 8 and 9 before 200a68a), now failing. The verifier attacks (2, 3, 4) are in SpanV1Verifier.t.sol,
/// the bond attack (7) in DatanetRegistry.t.sol.
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

    /// 8. Stake that arrives just before `finalizeBatch` (anyone may call it) no longer takes the stakers'
    /// share the operator earned over the window (before the fix: 14,850 of 15,000 OPEN): the share goes to
    /// the batch operator's pool, and only to stake bonded there when the batch was posted.
    function test_attack8_lateStakeTakesNoneOfABatchsReward() public {
        _payer(alice, 100_000 ether, false);
        (address[] memory payers, uint256[] memory amounts) = _one(alice, 100_000 ether);
        Posted memory p = _post(payers, amounts, 0);
        uint256 share = settlement.getBatch(p.batchId).stakersShare;
        assertEq(share, 15_000 ether);
        vm.warp(settlement.getBatch(p.batchId).finalizableAt);
        fundAndApprove(attacker, address(staking), 990_000 ether);
        vm.startPrank(attacker);
        staking.stake(attacker, 495_000 ether); // a pool of its own
        staking.stake(operator, 495_000 ether); // and a delegation to the batch's operator
        settlement.finalizeBatch(p.batchId);
        vm.stopPrank();
        assertEq(staking.pendingRewards(attacker, attacker), 0);
        assertEq(staking.pendingRewards(operator, attacker), 0);
        assertApproxEqAbs(staking.pendingRewards(operator, operator), share, 1);
    }

    /// 9. A slash cuts only stake bonded at the fault: neither stake that started unbonding before the bad
    /// batch was posted (before the fix it lost 10 %) nor stake delegated after it.
    function test_attack9_slashSparesStakeNotBondedAtTheFault() public {
        _useVerifier();
        address early = makeAddr("early delegator");
        address late = makeAddr("late delegator");
        fundAndApprove(early, address(staking), 5_000 ether);
        fundAndApprove(late, address(staking), 5_000 ether);
        vm.startPrank(early);
        staking.stake(operator, 5_000 ether);
        uint256 unbondingId = staking.unbond(operator, type(uint256).max);
        vm.stopPrank();
        _payer(alice, 10 ether, false);
        (address[] memory payers, uint256[] memory amounts) = _one(alice, 10 ether);
        Posted memory p = _post(payers, amounts, 0); // the fault
        vm.prank(late);
        staking.stake(operator, 5_000 ether);
        settlement.challenge(p.batchId, _record(p, 0), abi.encode(bytes32(0)));
        (,,, uint256 unbonding) = staking.unbondingOf(unbondingId);
        assertEq(unbonding, 5_000 ether);
        vm.prank(late);
        staking.claimRewards(operator); // activates the late stake now that the batch is closed
        assertEq(staking.stakeOf(operator, late), 5_000 ether);
        assertEq(staking.stakeOf(operator, operator), 4_000 ether); // the whole 1,000 OPEN slash
    }

    /// 9. The operator cannot dodge the slash by unbonding its self-stake under an open batch.
    function test_attack9_operatorCannotUnbondUnderAnOpenBatch() public {
        _payer(alice, 10 ether, false);
        (address[] memory payers, uint256[] memory amounts) = _one(alice, 10 ether);
        Posted memory p = _post(payers, amounts, 0);
        vm.expectRevert(abi.encodeWithSelector(Staking.SelfStakeLocked.selector, operator));
        vm.prank(operator);
        staking.unbond(operator, type(uint256).max);
        vm.warp(settlement.getBatch(p.batchId).finalizableAt);
        settlement.finalizeBatch(p.batchId);
        vm.prank(operator);
        staking.unbond(operator, type(uint256).max);
        assertFalse(staking.isOperator(operator));
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
