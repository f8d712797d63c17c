// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {EIP3009} from "../src/token/EIP3009.sol";
import {InferenceSettlement} from "../src/InferenceSettlement.sol";
import {ModelRegistry} from "../src/ModelRegistry.sol";
import {IAttributionVerifier} from "../src/interfaces/IAttributionVerifier.sol";
import {Payout, SumNode} from "../src/libraries/RecordTree.sol";
import {Fixture, RecomputingVerifier} from "./utils/Fixture.sol";
import {Records} from "./utils/Records.sol";

/// @notice Shared setup: a staked operator, a licensed model, payers and three contributors, and helpers
/// that post a batch with two records and keep what proofs need.
abstract contract SettlementBase is Fixture {
    address operator = makeAddr("operator");
    address builder = makeAddr("builder");
    uint256 alicePk = 0xA11CE;
    address alice = vm.addr(0xA11CE);
    address bob = makeAddr("bob");
    address c1 = makeAddr("contributor1");
    address c2 = makeAddr("contributor2");
    address c3 = makeAddr("contributor3");
    uint256 modelId;

    struct Posted {
        uint256 batchId;
        address[] payers;
        uint256[] amounts;
        uint256[] spentAfter;
        bool[] voucherOnly;
        bytes32[] debitLeaves;
        bytes[] attributions;
        Payout[][] payouts;
        SumNode[] recordLeaves;
    }

    function _setUpProtocol() internal {
        deployProtocol();
        fundAndApprove(operator, address(staking), 10_000 ether);
        vm.prank(operator);
        staking.stake(operator, 5_000 ether);
        vm.prank(operator);
        token.approve(address(settlement), type(uint256).max);

        vm.startPrank(builder);
        uint256 d = datanets.createDatanet("", 0, 0, 0, new address[](0));
        uint256 c = datanets.submitContribution(d, keccak256("x"), 1, "MIT");
        datanets.curate(c, true);
        uint256 snap = datanets.publishSnapshot(d, keccak256("r"), 1, 1, bytes32(0), 0, "");
        datanets.buyLicense(snap, builder);
        modelId = models.registerModel("");
        uint256[] memory snaps = new uint256[](1);
        snaps[0] = snap;
        models.publishVersion(
            modelId, ModelRegistry.VersionInput(keccak256("b"), keccak256("a"), "", snaps, keccak256("c"), 1)
        );
        vm.stopPrank();
    }

    function _payer(address who, uint256 deposit, bool voucherOnly) internal {
        fundAndApprove(who, address(settlement), deposit);
        vm.startPrank(who);
        settlement.deposit(deposit);
        settlement.authorize(operator, type(uint96).max, uint64(block.timestamp + 365 days), voucherOnly);
        vm.stopPrank();
    }

    /// @dev Two records: the first pays c1 half and c2 a third of the contributors' share, the second c3 the rest.
    function _records(Posted memory p, uint256 total) internal pure {
        p.attributions = new bytes[](2);
        p.attributions[0] = abi.encode("record", uint256(0));
        p.attributions[1] = abi.encode("record", uint256(1));
        p.payouts = new Payout[][](2);
        p.payouts[0] = new Payout[](2);
        p.payouts[0][0] = Payout(address(0), total / 2);
        p.payouts[0][1] = Payout(address(0), total / 3);
        p.payouts[1] = new Payout[](1);
        p.payouts[1][0] = Payout(address(0), total - total / 2 - total / 3);
    }

    function _post(address[] memory payers, uint256[] memory amounts, uint256 prepaid)
        internal
        returns (Posted memory p)
    {
        p.payers = payers;
        p.amounts = amounts;
        p.spentAfter = new uint256[](payers.length);
        p.voucherOnly = new bool[](payers.length);
        p.debitLeaves = new bytes32[](payers.length);
        uint256 fee = prepaid;
        for (uint256 i; i < payers.length; ++i) {
            InferenceSettlement.Authorization memory a = settlement.authorizationOf(payers[i], operator);
            uint256 before = a.spent;
            for (uint256 j; j < i; ++j) {
                if (payers[j] == payers[i]) before += amounts[j];
            }
            p.spentAfter[i] = before + amounts[i];
            p.voucherOnly[i] = a.voucherOnly;
            p.debitLeaves[i] = Records.debitLeaf(payers[i], amounts[i], p.spentAfter[i], a.voucherOnly);
            fee += amounts[i];
        }
        (,,, uint256 contributors) = settlement.splitFee(fee);
        _records(p, contributors);
        p.payouts[0][0].account = c1;
        p.payouts[0][1].account = c2;
        p.payouts[1][0].account = c3;
        p.recordLeaves = new SumNode[](2);
        for (uint256 r; r < 2; ++r) {
            p.recordLeaves[r] = Records.leaf(keccak256(p.attributions[r]), p.payouts[r]);
        }
        vm.prank(operator);
        p.batchId =
            settlement.postBatch(modelId, payers, amounts, prepaid, Records.root(p.recordLeaves).hash, contributors);
    }

    function _two(address a, uint256 x, address b, uint256 y)
        internal
        pure
        returns (address[] memory payers, uint256[] memory amounts)
    {
        payers = new address[](2);
        payers[0] = a;
        payers[1] = b;
        amounts = new uint256[](2);
        amounts[0] = x;
        amounts[1] = y;
    }

    function _postTwo(uint256 x, uint256 y) internal returns (Posted memory) {
        (address[] memory payers, uint256[] memory amounts) = _two(alice, x, bob, y);
        return _post(payers, amounts, 0);
    }

    function _claim(Posted memory p, uint256 record, uint256 entry)
        internal
        pure
        returns (InferenceSettlement.Claim[] memory claims)
    {
        claims = new InferenceSettlement.Claim[](1);
        claims[0] = InferenceSettlement.Claim(
            record, keccak256(p.attributions[record]), p.payouts[record], entry, Records.proof(p.recordLeaves, record)
        );
    }

    function _record(Posted memory p, uint256 r) internal pure returns (InferenceSettlement.Record memory) {
        return InferenceSettlement.Record(r, p.attributions[r], p.payouts[r], Records.proof(p.recordLeaves, r));
    }

    function _debit(Posted memory p, uint256 i) internal pure returns (InferenceSettlement.Debit memory) {
        return InferenceSettlement.Debit(
            p.payers[i], p.amounts[i], p.spentAfter[i], p.voucherOnly[i], Records.debitProof(p.debitLeaves, i)
        );
    }

    function _voucher(uint256 pk, address payer, uint256 cumulative) internal view returns (bytes memory) {
        bytes32 structHash = keccak256(abi.encode(settlement.VOUCHER_TYPEHASH(), payer, operator, cumulative));
        (uint8 v, bytes32 r, bytes32 s) =
            vm.sign(pk, keccak256(abi.encodePacked("\x19\x01", settlement.domainSeparator(), structHash)));
        return abi.encodePacked(r, s, v);
    }

    function _currentParams() internal view returns (InferenceSettlement.Params memory) {
        return settlement.paramsOf(settlement.currentParamsId());
    }

    function _useVerifier() internal returns (IAttributionVerifier v) {
        v = new RecomputingVerifier();
        vm.prank(admin);
        settlement.setVerifier(v);
    }
}

contract InferenceSettlementTest is SettlementBase {
    address challenger = makeAddr("challenger");

    function setUp() public {
        _setUpProtocol();
        _payer(alice, 100 ether, true);
        _payer(bob, 50 ether, false);
    }

    function test_defaultsAfterDeploy() public view {
        InferenceSettlement.Params memory p = settlement.paramsOf(settlement.currentParamsId());
        InferenceSettlement.FeeSplit memory s = p.split;
        assertEq(uint256(s.platformBps) + s.modelOwnerBps + s.stakersBps + s.contributorsBps, 10_000);
        assertEq(p.treasury, treasury);
        assertEq(p.challengeWindow, WINDOW);
        assertEq(p.responseWindow, WINDOW);
        assertEq(address(settlement.verifier()), address(0));
        assertTrue(staking.hasRole(staking.SLASHER_ROLE(), address(settlement)));
    }

    function test_fullFlowPaysEveryShareExactly() public {
        uint256 stakingBefore = token.balanceOf(address(staking));
        Posted memory p = _postTwo(3 ether + 7, 1 ether);
        uint256 fee = 4 ether + 7;
        assertEq(settlement.escrowOf(alice), 97 ether - 7);
        assertEq(settlement.escrowOf(bob), 49 ether);
        assertEq(settlement.authorizationOf(alice, operator).spent, 3 ether + 7);
        InferenceSettlement.Batch memory b = settlement.getBatch(p.batchId);
        assertEq(b.fee, fee);
        assertEq(b.platformShare + b.modelOwnerShare + b.stakersShare + b.contributorsShare, fee);
        assertEq(b.modelOwner, builder);
        assertEq(b.debitsRoot, Records.debitsRoot(p.debitLeaves));

        vm.expectRevert(
            abi.encodeWithSelector(
                InferenceSettlement.ChallengeWindowOpen.selector, p.batchId, b.challengeDeadline, block.timestamp
            )
        );
        settlement.claim(p.batchId, _claim(p, 0, 0));

        vm.warp(b.challengeDeadline);
        InferenceSettlement.Claim[] memory all = new InferenceSettlement.Claim[](3);
        all[0] = _claim(p, 0, 0)[0];
        all[1] = _claim(p, 0, 1)[0];
        all[2] = _claim(p, 1, 0)[0];
        settlement.claim(p.batchId, all);
        assertTrue(settlement.isClaimed(p.batchId, 0, 1));
        assertEq(token.balanceOf(c1) + token.balanceOf(c2) + token.balanceOf(c3), b.contributorsShare);
        assertEq(token.balanceOf(c3), b.contributorsShare - b.contributorsShare / 2 - b.contributorsShare / 3);

        vm.prank(treasury);
        uint256 platform = settlement.claimEarnings(treasury);
        vm.prank(builder);
        uint256 owner = settlement.claimEarnings(builder);
        uint256 stakers = token.balanceOf(address(staking)) - stakingBefore;
        assertEq(platform, b.platformShare);
        assertEq(owner, b.modelOwnerShare);
        assertEq(stakers, b.stakersShare);
        assertEq(platform + owner + stakers + b.contributorsShare, fee);
        assertApproxEqAbs(staking.pendingRewards(operator, operator), b.stakersShare, 1);
        assertEq(token.balanceOf(address(settlement)), settlement.totalEscrow());
        assertEq(settlement.totalEscrow(), 150 ether - fee);
    }

    function test_postBatchGuards() public {
        (address[] memory payers, uint256[] memory amounts) = _two(alice, 1 ether, bob, 0);
        (,,, uint256 contributors) = settlement.splitFee(1 ether);

        vm.expectRevert(abi.encodeWithSelector(InferenceSettlement.NotOperator.selector, alice));
        vm.prank(alice);
        settlement.postBatch(modelId, payers, amounts, 0, keccak256("r"), contributors);

        vm.startPrank(operator);
        vm.expectRevert(abi.encodeWithSelector(InferenceSettlement.InactiveModel.selector, 99));
        settlement.postBatch(99, payers, amounts, 0, keccak256("r"), contributors);
        vm.expectRevert(InferenceSettlement.EmptyBatch.selector);
        settlement.postBatch(modelId, new address[](0), new uint256[](0), 0, keccak256("r"), 0);
        vm.expectRevert(abi.encodeWithSelector(InferenceSettlement.LengthMismatch.selector, 2, 1));
        settlement.postBatch(modelId, payers, new uint256[](1), 0, keccak256("r"), 0);
        vm.expectRevert(
            abi.encodeWithSelector(InferenceSettlement.RecordsTotalMismatch.selector, contributors, contributors + 1)
        );
        settlement.postBatch(modelId, payers, amounts, 0, keccak256("r"), contributors + 1);
        vm.expectRevert(InferenceSettlement.MissingRecordsRoot.selector);
        settlement.postBatch(modelId, payers, amounts, 0, bytes32(0), contributors);
        amounts[0] = 101 ether;
        vm.expectRevert(
            abi.encodeWithSelector(InferenceSettlement.InsufficientEscrow.selector, alice, 100 ether, 101 ether)
        );
        settlement.postBatch(modelId, payers, amounts, 0, keccak256("r"), 0);
        vm.stopPrank();

        // a payer that never authorised the operator, one over its cap, one past its expiry
        payers[0] = c1;
        amounts[0] = 1;
        vm.expectRevert(abi.encodeWithSelector(InferenceSettlement.SpendingAuthorizationExpired.selector, c1, 0));
        vm.prank(operator);
        settlement.postBatch(modelId, payers, amounts, 0, keccak256("r"), 0);
        vm.prank(bob);
        settlement.authorize(operator, 2 ether, uint64(block.timestamp + 10), false);
        (payers, amounts) = _two(bob, 2 ether + 1, alice, 0);
        vm.expectRevert(
            abi.encodeWithSelector(InferenceSettlement.SpendingCapExceeded.selector, bob, 2 ether, 2 ether + 1)
        );
        vm.prank(operator);
        settlement.postBatch(modelId, payers, amounts, 0, keccak256("r"), 0);
        amounts[0] = 2 ether;
        vm.warp(block.timestamp + 11);
        vm.expectRevert(
            abi.encodeWithSelector(
                InferenceSettlement.SpendingAuthorizationExpired.selector, bob, uint64(block.timestamp - 1)
            )
        );
        vm.prank(operator);
        settlement.postBatch(modelId, payers, amounts, 0, keccak256("r"), 0);
    }

    function test_authorizationBoundsDebitsCumulatively() public {
        vm.prank(bob);
        settlement.authorize(operator, 3 ether, uint64(block.timestamp + 1 days), false);
        (address[] memory payers, uint256[] memory amounts) = _two(bob, 2 ether, bob, 1 ether);
        Posted memory p = _post(payers, amounts, 0);
        assertEq(p.spentAfter[1], 3 ether);
        assertEq(settlement.authorizationOf(bob, operator).spent, 3 ether);
        (payers, amounts) = _two(bob, 1, alice, 0);
        vm.expectRevert(
            abi.encodeWithSelector(InferenceSettlement.SpendingCapExceeded.selector, bob, 3 ether, 3 ether + 1)
        );
        vm.prank(operator);
        settlement.postBatch(modelId, payers, amounts, 0, keccak256("r"), 0);
        // another operator gets nothing from bob's authorisation of this one
        address other = makeAddr("other operator");
        fundAndApprove(other, address(staking), MIN_STAKE);
        vm.prank(other);
        staking.stake(other, MIN_STAKE);
        vm.expectRevert(abi.encodeWithSelector(InferenceSettlement.SpendingAuthorizationExpired.selector, bob, 0));
        vm.prank(other);
        settlement.postBatch(modelId, payers, amounts, 0, keccak256("r"), 0);
        vm.expectRevert(InferenceSettlement.ZeroAddress.selector);
        vm.prank(bob);
        settlement.authorize(address(0), 1, 1, false);
        vm.expectRevert(abi.encodeWithSelector(InferenceSettlement.AmountTooLarge.selector, uint256(1) << 96));
        vm.prank(bob);
        settlement.authorize(operator, uint256(1) << 96, 1, false);
    }

    function _signAuthorization(uint256 pk, InferenceSettlement.SpendingAuthorization memory a)
        internal
        view
        returns (bytes memory)
    {
        bytes32 structHash = keccak256(
            abi.encode(
                settlement.AUTHORIZATION_TYPEHASH(), a.payer, a.operator, a.cap, a.expiry, a.voucherOnly, a.nonce
            )
        );
        (uint8 v, bytes32 r, bytes32 s) =
            vm.sign(pk, keccak256(abi.encodePacked("\x19\x01", settlement.domainSeparator(), structHash)));
        return abi.encodePacked(r, s, v);
    }

    function test_signedAuthorizationIsSubmittedOnceInOrder() public {
        uint256 nonce = settlement.authorizationNonce(alice, operator);
        InferenceSettlement.SpendingAuthorization memory a =
            InferenceSettlement.SpendingAuthorization(alice, operator, 5 ether, block.timestamp + 1 days, false, nonce);
        bytes memory sig = _signAuthorization(alicePk, a);
        vm.prank(operator);
        settlement.authorizeWithSignature(a, sig);
        InferenceSettlement.Authorization memory stored = settlement.authorizationOf(alice, operator);
        assertEq(stored.cap, 5 ether);
        assertFalse(stored.voucherOnly);
        assertEq(settlement.authorizationNonce(alice, operator), nonce + 1);
        vm.expectRevert(
            abi.encodeWithSelector(InferenceSettlement.InvalidAuthorizationNonce.selector, nonce + 1, nonce)
        );
        settlement.authorizeWithSignature(a, sig);
        a.nonce = nonce + 1;
        a.cap = 500 ether;
        vm.expectRevert(abi.encodeWithSelector(InferenceSettlement.InvalidSignature.selector, alice));
        settlement.authorizeWithSignature(a, sig); // the old signature does not cover the new terms
        bytes memory bobs = _signAuthorization(0xB0B, a);
        vm.expectRevert(abi.encodeWithSelector(InferenceSettlement.InvalidSignature.selector, alice));
        settlement.authorizeWithSignature(a, bobs);
        a.expiry = uint256(1) << 40;
        bytes memory far = _signAuthorization(alicePk, a);
        vm.expectRevert(abi.encodeWithSelector(InferenceSettlement.AmountTooLarge.selector, uint256(1) << 40));
        settlement.authorizeWithSignature(a, far);
    }

    function test_maturedWithdrawalIsReservedThenExpires() public {
        vm.expectRevert(abi.encodeWithSelector(InferenceSettlement.NoWithdrawalRequested.selector, alice));
        vm.prank(alice);
        settlement.withdraw();
        vm.expectRevert(InferenceSettlement.ZeroAmount.selector);
        vm.prank(alice);
        settlement.requestWithdrawal(0);
        vm.expectRevert(
            abi.encodeWithSelector(InferenceSettlement.InsufficientEscrow.selector, alice, 100 ether, 101 ether)
        );
        vm.prank(alice);
        settlement.requestWithdrawal(101 ether);
        vm.prank(alice);
        settlement.requestWithdrawal(60 ether);
        InferenceSettlement.Escrow memory e = settlement.escrowDetails(alice);
        vm.expectRevert(
            abi.encodeWithSelector(InferenceSettlement.WithdrawalNotReady.selector, alice, e.readyAt, block.timestamp)
        );
        vm.prank(alice);
        settlement.withdraw();
        assertEq(settlement.debitableOf(alice), 100 ether); // operators had the delay to settle
        _postTwo(10 ether, 0);
        vm.warp(e.readyAt);
        assertEq(settlement.debitableOf(alice), 30 ether); // the matured request is reserved
        (address[] memory payers, uint256[] memory amounts) = _two(alice, 31 ether, bob, 0);
        vm.expectRevert(
            abi.encodeWithSelector(InferenceSettlement.InsufficientEscrow.selector, alice, 30 ether, 31 ether)
        );
        vm.prank(operator);
        settlement.postBatch(modelId, payers, amounts, 0, keccak256("r"), 0);
        vm.warp(e.expiresAt);
        vm.expectRevert(
            abi.encodeWithSelector(InferenceSettlement.WithdrawalExpired.selector, alice, e.expiresAt, e.expiresAt)
        );
        vm.prank(alice);
        settlement.withdraw();
        assertEq(settlement.debitableOf(alice), 90 ether); // and lapses with the request
        vm.prank(alice);
        settlement.requestWithdrawal(90 ether);
        vm.warp(settlement.escrowDetails(alice).readyAt);
        assertEq(settlement.debitableOf(alice), 0);
        uint256 before = token.balanceOf(alice);
        vm.prank(alice);
        assertEq(settlement.withdraw(), 90 ether);
        assertEq(token.balanceOf(alice) - before, 90 ether);
        assertEq(settlement.escrowOf(alice), 0);
    }

    function test_prepaidX402PartIsPulledFromTheOperator() public {
        uint256 before = token.balanceOf(operator);
        Posted memory p = _post(new address[](0), new uint256[](0), 2 ether);
        assertEq(before - token.balanceOf(operator), 2 ether);
        InferenceSettlement.Batch memory b = settlement.getBatch(p.batchId);
        assertEq(b.fee, 2 ether);
        assertEq(b.debitsRoot, bytes32(0));
        _useVerifier();
        // parameters set after the first batch wait out the delay; this batch keeps its own (no verifier)
        vm.expectRevert(InferenceSettlement.VerifierNotSet.selector);
        settlement.challenge(p.batchId, _record(p, 0), abi.encode(bytes32(0)));
    }

    function test_debitDisputeAnsweredWithTheVoucher() public {
        Posted memory p = _postTwo(3 ether, 1 ether);
        InferenceSettlement.Batch memory b = settlement.getBatch(p.batchId);
        vm.warp(b.challengeDeadline - 10);
        vm.prank(alice);
        uint256 id = settlement.disputeDebit(p.batchId, _debit(p, 0));
        assertEq(settlement.getBatch(p.batchId).openDisputes, 1);
        vm.warp(b.challengeDeadline);
        vm.expectRevert(abi.encodeWithSelector(InferenceSettlement.DisputesOpen.selector, p.batchId, 1));
        settlement.finalizeBatch(p.batchId);
        bytes memory voucher = _voucher(alicePk, alice, 3 ether);
        vm.expectRevert(abi.encodeWithSelector(InferenceSettlement.NotTheOperator.selector, bob, operator));
        vm.prank(bob);
        settlement.answerDebit(id, alice, 3 ether, 3 ether, voucher);
        bytes memory low = _voucher(alicePk, alice, 2 ether);
        bytes memory bobs = _voucher(0xB0B, alice, 3 ether);
        vm.startPrank(operator);
        vm.expectRevert(abi.encodeWithSelector(InferenceSettlement.WrongDispute.selector, id));
        settlement.answerDebit(id, alice, 2 ether, 3 ether, voucher);
        vm.expectRevert(abi.encodeWithSelector(InferenceSettlement.VoucherTooLow.selector, 2 ether, 3 ether));
        settlement.answerDebit(id, alice, 3 ether, 2 ether, low);
        vm.expectRevert(abi.encodeWithSelector(InferenceSettlement.InvalidSignature.selector, alice));
        settlement.answerDebit(id, alice, 3 ether, 4 ether, voucher);
        vm.expectRevert(abi.encodeWithSelector(InferenceSettlement.InvalidSignature.selector, alice));
        settlement.answerDebit(id, alice, 3 ether, 3 ether, bobs);
        settlement.answerDebit(id, alice, 3 ether, 3 ether, voucher);
        vm.expectRevert(abi.encodeWithSelector(InferenceSettlement.WrongDispute.selector, id));
        settlement.answerDebit(id, alice, 3 ether, 3 ether, voucher);
        vm.stopPrank();
        assertEq(uint8(settlement.getDispute(id).status), uint8(InferenceSettlement.DisputeStatus.Answered));
        vm.expectRevert(abi.encodeWithSelector(InferenceSettlement.WrongDispute.selector, id));
        settlement.resolveDispute(id);
        settlement.finalizeBatch(p.batchId);
        assertEq(uint8(settlement.getBatch(p.batchId).status), uint8(InferenceSettlement.BatchStatus.Finalized));
    }

    function test_debitDisputeGuards() public {
        Posted memory p = _postTwo(3 ether, 1 ether);
        InferenceSettlement.Debit memory d = _debit(p, 0);
        vm.expectRevert(abi.encodeWithSelector(InferenceSettlement.NotPayer.selector, bob, alice));
        vm.prank(bob);
        settlement.disputeDebit(p.batchId, d);
        // bob's authorisation is for an API-key client: bounded by its cap, not disputable
        vm.expectRevert(abi.encodeWithSelector(InferenceSettlement.NotDisputable.selector, bob));
        vm.prank(bob);
        settlement.disputeDebit(p.batchId, _debit(p, 1));
        d.amount += 1;
        vm.expectRevert(abi.encodeWithSelector(InferenceSettlement.InvalidDebitProof.selector, p.batchId, alice));
        vm.prank(alice);
        settlement.disputeDebit(p.batchId, d);
        d.amount -= 1;
        vm.prank(alice);
        uint256 id = settlement.disputeDebit(p.batchId, d);
        vm.expectRevert(
            abi.encodeWithSelector(
                InferenceSettlement.DuplicateDispute.selector, p.batchId, keccak256(abi.encode(alice, 3 ether)), id
            )
        );
        vm.prank(alice);
        settlement.disputeDebit(p.batchId, d);
        vm.expectRevert(abi.encodeWithSelector(InferenceSettlement.UnknownDispute.selector, 99));
        settlement.resolveDispute(99);
        InferenceSettlement.Dispute memory dispute = settlement.getDispute(id);
        vm.expectRevert(
            abi.encodeWithSelector(InferenceSettlement.AnswerWindowOpen.selector, id, dispute.answerBy, block.timestamp)
        );
        settlement.resolveDispute(id);
        vm.warp(dispute.answerBy);
        bytes memory voucher = _voucher(alicePk, alice, 3 ether);
        vm.expectRevert(
            abi.encodeWithSelector(
                InferenceSettlement.AnswerWindowClosed.selector, id, dispute.answerBy, dispute.answerBy
            )
        );
        vm.prank(operator);
        settlement.answerDebit(id, alice, 3 ether, 3 ether, voucher);
        uint64 deadline = settlement.getBatch(p.batchId).challengeDeadline;
        vm.expectRevert(
            abi.encodeWithSelector(InferenceSettlement.ChallengeWindowClosed.selector, p.batchId, deadline, deadline)
        );
        vm.prank(alice);
        settlement.disputeDebit(p.batchId, _debit(p, 0));
    }

    function test_unansweredDebitDisputeRevertsAndEveryDebitIsRefunded() public {
        Posted memory p = _postTwo(3 ether, 1 ether);
        uint256 fee = 4 ether;
        vm.prank(alice);
        uint256 id = settlement.disputeDebit(p.batchId, _debit(p, 0));
        vm.warp(settlement.getDispute(id).answerBy);
        settlement.resolveDispute(id);
        assertEq(uint8(settlement.getBatch(p.batchId).status), uint8(InferenceSettlement.BatchStatus.Reverted));
        assertEq(uint8(settlement.getDispute(id).status), uint8(InferenceSettlement.DisputeStatus.Upheld));
        assertEq(settlement.earningsOf(alice), 500 ether); // the disputer's part of the 1,000 OPEN slash
        assertEq(settlement.earningsOf(treasury), 500 ether);
        assertEq(staking.stakeOf(operator, operator), 4_000 ether);
        vm.expectRevert(
            abi.encodeWithSelector(
                InferenceSettlement.WrongBatchStatus.selector, p.batchId, InferenceSettlement.BatchStatus.Reverted
            )
        );
        settlement.claim(p.batchId, _claim(p, 0, 0));

        InferenceSettlement.Debit[] memory one = new InferenceSettlement.Debit[](1);
        one[0] = _debit(p, 1);
        settlement.refund(p.batchId, one); // bob's alone, in its own transaction
        assertEq(settlement.escrowOf(bob), 50 ether);
        assertEq(settlement.authorizationOf(bob, operator).spent, 0);
        vm.expectRevert(abi.encodeWithSelector(InferenceSettlement.AlreadyRefunded.selector, p.batchId, bob));
        settlement.refund(p.batchId, one);
        one[0] = _debit(p, 0);
        one[0].amount = 4 ether;
        vm.expectRevert(abi.encodeWithSelector(InferenceSettlement.InvalidDebitProof.selector, p.batchId, alice));
        settlement.refund(p.batchId, one);
        one[0].amount = 3 ether;
        settlement.refund(p.batchId, one);
        assertEq(settlement.escrowOf(alice), 100 ether);
        assertEq(settlement.authorizationOf(alice, operator).spent, 0);
        assertEq(settlement.totalLocked(), 0);
        assertEq(settlement.totalEscrow(), 150 ether);
        assertEq(
            token.balanceOf(address(settlement)),
            settlement.totalEscrow() + settlement.totalEarnings() + settlement.totalLocked()
        );
        assertEq(settlement.totalEarnings(), 1_000 ether);
        assertEq(fee, 4 ether);
        vm.prank(alice);
        settlement.claimEarnings(alice);
        vm.expectRevert(abi.encodeWithSelector(InferenceSettlement.NothingToClaim.selector, alice));
        vm.prank(alice);
        settlement.claimEarnings(alice);
    }

    function test_evidenceRequestAnsweredKeepsTheBatchChallengeable() public {
        _useVerifier();
        Posted memory p = _postTwo(3 ether, 1 ether);
        InferenceSettlement.Record memory r = _record(p, 1);
        vm.prank(challenger);
        uint256 id = settlement.requestEvidence(p.batchId, r);
        vm.expectRevert(abi.encodeWithSelector(InferenceSettlement.WrongDispute.selector, id));
        vm.prank(operator);
        settlement.answerDebit(id, alice, 0, 0, "");
        vm.startPrank(operator);
        vm.expectRevert(abi.encodeWithSelector(InferenceSettlement.WrongDispute.selector, id));
        settlement.answerEvidence(id, p.attributions[0], p.attributions[0]);
        vm.expectRevert(abi.encodeWithSelector(InferenceSettlement.AnswerRejected.selector, id));
        settlement.answerEvidence(id, p.attributions[1], "incomplete");
        vm.warp(settlement.getBatch(p.batchId).challengeDeadline - 1);
        settlement.answerEvidence(id, p.attributions[1], p.attributions[1]);
        vm.stopPrank();
        InferenceSettlement.Batch memory b = settlement.getBatch(p.batchId);
        assertEq(b.finalizableAt, block.timestamp + WINDOW);
        vm.warp(b.challengeDeadline + 1); // past the original window, within the extension
        vm.prank(challenger);
        settlement.challenge(p.batchId, r, abi.encode(keccak256("recomputed from the evidence")));
        assertEq(uint8(settlement.getBatch(p.batchId).status), uint8(InferenceSettlement.BatchStatus.Reverted));
        assertEq(settlement.earningsOf(challenger), 500 ether);
    }

    function test_unansweredEvidenceRequestRevertsTheBatch() public {
        Posted memory plain = _postTwo(1 ether, 0);
        vm.expectRevert(InferenceSettlement.VerifierNotSet.selector);
        settlement.requestEvidence(plain.batchId, _record(plain, 0));
        _useVerifier();
        vm.warp(block.timestamp + settlement.PARAMS_DELAY());
        settlement.activateParams();
        Posted memory p = _postTwo(3 ether, 1 ether);
        InferenceSettlement.Record memory r = _record(p, 0);
        r.payouts[0].amount += 1;
        vm.expectRevert(abi.encodeWithSelector(InferenceSettlement.InvalidRecordProof.selector, p.batchId, 0));
        settlement.requestEvidence(p.batchId, r);
        r.payouts[0].amount -= 1;
        vm.prank(challenger);
        uint256 id = settlement.requestEvidence(p.batchId, r);
        vm.warp(settlement.getDispute(id).answerBy);
        settlement.resolveDispute(id);
        assertEq(uint8(settlement.getBatch(p.batchId).status), uint8(InferenceSettlement.BatchStatus.Reverted));
        assertEq(settlement.earningsOf(challenger), 500 ether);
    }

    function test_challengeThroughTheBatchVerifier() public {
        _useVerifier();
        Posted memory p = _postTwo(10 ether, 5 ether);
        InferenceSettlement.Record memory r = _record(p, 0);
        vm.expectRevert(abi.encodeWithSelector(InferenceSettlement.ChallengeRejected.selector, p.batchId));
        vm.prank(challenger);
        settlement.challenge(p.batchId, r, abi.encode(keccak256(p.attributions[0])));
        r.index = 2; // an index past the tree
        vm.expectRevert(abi.encodeWithSelector(InferenceSettlement.InvalidRecordProof.selector, p.batchId, 2));
        settlement.challenge(p.batchId, r, abi.encode(bytes32(0)));
        r.index = 0;
        vm.prank(challenger);
        settlement.challenge(p.batchId, r, abi.encode(keccak256("the honest commitment")));
        assertEq(uint8(settlement.getBatch(p.batchId).status), uint8(InferenceSettlement.BatchStatus.Reverted));
        assertEq(settlement.earningsOf(challenger), 500 ether);
        assertEq(settlement.earningsOf(treasury), 500 ether);
        assertEq(staking.stakeOf(operator, operator), 4_000 ether);
        vm.expectRevert(
            abi.encodeWithSelector(
                InferenceSettlement.WrongBatchStatus.selector, p.batchId, InferenceSettlement.BatchStatus.Reverted
            )
        );
        settlement.challenge(p.batchId, r, abi.encode(bytes32(0)));
        vm.expectRevert(
            abi.encodeWithSelector(
                InferenceSettlement.WrongBatchStatus.selector, p.batchId, InferenceSettlement.BatchStatus.Reverted
            )
        );
        settlement.finalizeBatch(p.batchId);
        // a batch reverted inside its window takes no evidence request or debit dispute either
        assertLt(block.timestamp, settlement.getBatch(p.batchId).challengeDeadline);
        vm.expectRevert(
            abi.encodeWithSelector(
                InferenceSettlement.WrongBatchStatus.selector, p.batchId, InferenceSettlement.BatchStatus.Reverted
            )
        );
        settlement.requestEvidence(p.batchId, _record(p, 1));
    }

    function test_challengeAfterTheWindowOrWithoutVerifier() public {
        Posted memory p = _postTwo(1 ether, 0);
        vm.expectRevert(InferenceSettlement.VerifierNotSet.selector);
        settlement.challenge(p.batchId, _record(p, 0), "");
        uint64 deadline = settlement.getBatch(p.batchId).challengeDeadline;
        vm.warp(deadline);
        vm.expectRevert(
            abi.encodeWithSelector(InferenceSettlement.ChallengeWindowClosed.selector, p.batchId, deadline, deadline)
        );
        settlement.challenge(p.batchId, _record(p, 0), "");
        settlement.finalizeBatch(p.batchId);
        vm.expectRevert(
            abi.encodeWithSelector(
                InferenceSettlement.WrongBatchStatus.selector, p.batchId, InferenceSettlement.BatchStatus.Finalized
            )
        );
        settlement.finalizeBatch(p.batchId);
        vm.expectRevert(
            abi.encodeWithSelector(
                InferenceSettlement.WrongBatchStatus.selector, p.batchId, InferenceSettlement.BatchStatus.Finalized
            )
        );
        settlement.refund(p.batchId, new InferenceSettlement.Debit[](0));
        vm.expectRevert(abi.encodeWithSelector(InferenceSettlement.UnknownBatch.selector, 99));
        settlement.finalizeBatch(99);
    }

    function test_claimsNeedTheRecordAndHappenOnce() public {
        Posted memory p = _postTwo(10 ether, 0);
        vm.warp(block.timestamp + WINDOW);
        InferenceSettlement.Claim[] memory c = _claim(p, 0, 0);
        c[0].payouts[0].amount += 1;
        vm.expectRevert(abi.encodeWithSelector(InferenceSettlement.InvalidRecordProof.selector, p.batchId, 0));
        settlement.claim(p.batchId, c);
        c[0].payouts[0].amount -= 1; // (the payouts are shared with p)
        c = _claim(p, 0, 0);
        c[0].index = 4; // the same leaf at an aliased index
        vm.expectRevert(abi.encodeWithSelector(InferenceSettlement.InvalidRecordProof.selector, p.batchId, 4));
        settlement.claim(p.batchId, c);
        c = _claim(p, 0, 2);
        vm.expectRevert(abi.encodeWithSelector(InferenceSettlement.PayoutOutOfRange.selector, 2, 2));
        settlement.claim(p.batchId, c);
        c = _claim(p, 1, 0);
        settlement.claim(p.batchId, c);
        vm.expectRevert(abi.encodeWithSelector(InferenceSettlement.AlreadyClaimed.selector, p.batchId, 1, 0));
        settlement.claim(p.batchId, c);
        vm.expectRevert(abi.encodeWithSelector(InferenceSettlement.UnknownBatch.selector, 999));
        settlement.claim(999, c);
        Payout[] memory many = new Payout[](257);
        c[0].payouts = many;
        vm.expectRevert(abi.encodeWithSelector(InferenceSettlement.PayoutOutOfRange.selector, 257, 256));
        settlement.claim(p.batchId, c);
        assertFalse(settlement.isClaimed(p.batchId, 0, 300));
    }

    function test_zeroPayoutIsNotClaimable() public {
        address[] memory payers = new address[](1);
        payers[0] = alice;
        uint256[] memory amounts = new uint256[](1);
        amounts[0] = 1; // contributors' share rounds to 0: records pay 0
        Posted memory p = _post(payers, amounts, 0);
        assertEq(settlement.getBatch(p.batchId).contributorsShare, 0);
        vm.warp(block.timestamp + WINDOW);
        vm.expectRevert(abi.encodeWithSelector(InferenceSettlement.NothingToClaim.selector, c3));
        settlement.claim(p.batchId, _claim(p, 1, 0));
    }

    function test_parametersAreFixedPerBatchAndTimelocked() public {
        IAttributionVerifier v = _useVerifier(); // before any batch: at once
        assertEq(address(settlement.verifier()), address(v));
        Posted memory p = _postTwo(1 ether, 0);
        uint32 paramsId = settlement.getBatch(p.batchId).paramsId;
        InferenceSettlement.Params memory next = _currentParams();
        next.slashAmount = 5_000 ether;
        next.challengerRewardBps = 10_000;
        vm.startPrank(admin);
        settlement.setParams(next);
        settlement.setVerifier(IAttributionVerifier(address(0))); // composes with the scheduled set
        vm.stopPrank();
        assertEq(address(settlement.verifier()), address(v)); // only scheduled
        uint64 eta = settlement.pendingParamsEta();
        assertEq(eta, block.timestamp + settlement.PARAMS_DELAY());
        vm.expectRevert(abi.encodeWithSelector(InferenceSettlement.ParamsNotReady.selector, eta, block.timestamp));
        settlement.activateParams();
        vm.warp(eta);
        settlement.activateParams();
        assertEq(address(settlement.verifier()), address(0));
        assertEq(settlement.paramsOf(settlement.currentParamsId()).slashAmount, 5_000 ether);
        assertEq(settlement.currentParamsId(), paramsId + 1);
        vm.expectRevert(InferenceSettlement.NoParamsScheduled.selector);
        settlement.activateParams();
        assertEq(address(settlement.paramsOf(paramsId).verifier), address(v));
    }

    function test_windowsMustCloseBeforeUnbonding() public {
        InferenceSettlement.Params memory p = _currentParams();
        (p.challengeWindow, p.responseWindow) = (7 days - 2, 1);
        vm.expectRevert(abi.encodeWithSelector(InferenceSettlement.WindowsExceedUnbonding.selector, 7 days, 7 days));
        vm.prank(admin);
        settlement.setParams(p);
        (p.challengeWindow, p.responseWindow) = (6 days, 12 hours - 1);
        vm.prank(admin);
        settlement.setParams(p);
        // Staking's admin shortening unbonding under live parameters stops new batches
        vm.prank(admin);
        staking.setUnbondingPeriod(6 days);
        (address[] memory payers, uint256[] memory amounts) = _two(alice, 1, bob, 0);
        vm.expectRevert(abi.encodeWithSelector(InferenceSettlement.WindowsExceedUnbonding.selector, 7 days - 2, 6 days));
        vm.prank(operator);
        settlement.postBatch(modelId, payers, amounts, 0, keccak256("r"), 0);
    }

    function test_parametersOnlyByAdmin() public {
        bytes32 role = settlement.DEFAULT_ADMIN_ROLE();
        bytes memory denied =
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, alice, role);
        InferenceSettlement.Params memory p = _currentParams();
        vm.startPrank(alice);
        vm.expectRevert(denied);
        settlement.setParams(p);
        vm.expectRevert(denied);
        settlement.setVerifier(IAttributionVerifier(alice));
        vm.stopPrank();

        vm.startPrank(admin);
        p.split = InferenceSettlement.FeeSplit(1, 2, 3, 9_993);
        vm.expectRevert(abi.encodeWithSelector(InferenceSettlement.InvalidFeeSplit.selector, 9_999));
        settlement.setParams(p);
        p.split = InferenceSettlement.FeeSplit(10_000, 10_000, 10_000, 10_000);
        vm.expectRevert(abi.encodeWithSelector(InferenceSettlement.InvalidFeeSplit.selector, 40_000));
        settlement.setParams(p);
        p.split = InferenceSettlement.FeeSplit(1000, 2000, 3000, 4000);
        p.challengerRewardBps = 10_001;
        vm.expectRevert(abi.encodeWithSelector(InferenceSettlement.InvalidBps.selector, 10_001));
        settlement.setParams(p);
        p.challengerRewardBps = 10_000;
        p.treasury = address(0);
        vm.expectRevert(InferenceSettlement.ZeroAddress.selector);
        settlement.setParams(p);
        (p.treasury, p.challengeWindow, p.responseWindow, p.withdrawalDelay) = (bob, 5, 6, 7);
        settlement.setParams(p); // no batch yet: at once
        vm.stopPrank();
        p = _currentParams();
        assertEq(p.split.contributorsBps, 4000);
        assertEq(p.split.modelOwnerBps, 2000);
        assertEq(p.challengeWindow, 5);
        assertEq(p.responseWindow, 6);
        assertEq(p.withdrawalDelay, 7);
        assertEq(p.treasury, bob);
        assertEq(p.challengerRewardBps, 10_000);
        assertEq(settlement.challengeWindow(), 5);
    }

    function test_depositGuards() public {
        vm.expectRevert(InferenceSettlement.ZeroAmount.selector);
        vm.prank(alice);
        settlement.deposit(0);
        vm.expectRevert(InferenceSettlement.ZeroAddress.selector);
        vm.prank(alice);
        settlement.depositFor(address(0), 1);
        fundAndApprove(bob, address(settlement), 5 ether);
        vm.prank(bob);
        settlement.depositFor(c1, 5 ether);
        assertEq(settlement.escrowOf(c1), 5 ether);
        uint256 huge = uint256(type(uint96).max);
        bytes32 bridge = token.BRIDGE_ROLE();
        vm.prank(admin); // a balance beyond 96 bits cannot be represented (above $OPEN's whole supply)
        token.grantRole(bridge, admin);
        vm.prank(admin);
        token.mint(bob, huge);
        vm.expectRevert(abi.encodeWithSelector(InferenceSettlement.AmountTooLarge.selector, huge + 50 ether));
        vm.prank(bob);
        settlement.deposit(huge);
    }

    function test_depositWithAuthorizationIsGaslessAndNotReplayable() public {
        uint256 pk = 0xD00D;
        address payer = vm.addr(pk);
        fund(payer, 10 ether);
        bytes32 nonce = keccak256("x402");
        bytes32 structHash = keccak256(
            abi.encode(
                token.RECEIVE_WITH_AUTHORIZATION_TYPEHASH(),
                payer,
                address(settlement),
                10 ether,
                0,
                block.timestamp + 60,
                nonce
            )
        );
        (uint8 v, bytes32 r, bytes32 s) =
            vm.sign(pk, keccak256(abi.encodePacked("\x19\x01", token.DOMAIN_SEPARATOR(), structHash)));
        bytes memory sig = abi.encodePacked(r, s, v);
        vm.prank(makeAddr("relayer"));
        settlement.depositWithAuthorization(payer, 10 ether, 0, block.timestamp + 60, nonce, sig);
        assertEq(settlement.escrowOf(payer), 10 ether);
        assertEq(token.balanceOf(payer), 0);
        vm.expectRevert(abi.encodeWithSelector(EIP3009.AuthorizationAlreadyUsed.selector, payer, nonce));
        settlement.depositWithAuthorization(payer, 10 ether, 0, block.timestamp + 60, nonce, sig);
        vm.expectRevert(abi.encodeWithSelector(EIP3009.InvalidAuthorizationSignature.selector, payer));
        settlement.depositWithAuthorization(payer, 9 ether, 0, block.timestamp + 60, keccak256("other"), sig);
    }

    function testFuzz_splitSumsToFeeToTheWei(uint256 fee, uint16 a, uint16 b, uint16 c) public {
        fee = bound(fee, 0, type(uint256).max / 10_000);
        a = uint16(bound(a, 0, 10_000));
        b = uint16(bound(b, 0, 10_000 - a));
        c = uint16(bound(c, 0, 10_000 - a - b));
        InferenceSettlement.Params memory p = _currentParams();
        p.split = InferenceSettlement.FeeSplit(10_000 - a - b - c, a, b, c);
        vm.prank(admin);
        settlement.setParams(p);
        (uint256 platform, uint256 owner, uint256 stakers, uint256 contributors) = settlement.splitFee(fee);
        assertEq(platform + owner + stakers + contributors, fee);
        assertEq(owner, (fee * a) / 10_000);
        assertEq(stakers, (fee * b) / 10_000);
        assertEq(contributors, (fee * c) / 10_000);
        assertLe(platform - (fee * (10_000 - a - b - c)) / 10_000, 3); // dust to the platform: < 3 wei
    }
}
