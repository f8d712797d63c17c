// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {EIP3009} from "../src/token/EIP3009.sol";
import {InferenceSettlement} from "../src/InferenceSettlement.sol";
import {ModelRegistry} from "../src/ModelRegistry.sol";
import {IAttributionVerifier} from "../src/interfaces/IAttributionVerifier.sol";
import {Fixture, RecomputingVerifier} from "./utils/Fixture.sol";
import {Merkle} from "./utils/Merkle.sol";

/// @notice Shared setup: a staked operator, a licensed model, three contributors.
abstract contract SettlementBase is Fixture {
    address operator = makeAddr("operator");
    address builder = makeAddr("builder");
    address alice = makeAddr("alice");
    address bob = makeAddr("bob");
    address c1 = makeAddr("contributor1");
    address c2 = makeAddr("contributor2");
    address c3 = makeAddr("contributor3");
    uint256 modelId;

    function _setUpProtocol() internal {
        deployProtocol();
        fundAndApprove(operator, address(staking), 10_000 ether);
        vm.prank(operator);
        staking.stake(operator, 5_000 ether);

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

    function _leaves(uint256 total) internal view returns (bytes32[] memory leaves, uint256[] memory amounts) {
        amounts = new uint256[](3);
        amounts[0] = total / 2;
        amounts[1] = total / 3;
        amounts[2] = total - amounts[0] - amounts[1];
        leaves = new bytes32[](3);
        leaves[0] = Merkle.payoutLeaf(c1, amounts[0]);
        leaves[1] = Merkle.payoutLeaf(c2, amounts[1]);
        leaves[2] = Merkle.payoutLeaf(c3, amounts[2]);
    }
}

contract InferenceSettlementTest is SettlementBase {
    address challenger = makeAddr("challenger");

    function setUp() public {
        _setUpProtocol();
        fundAndApprove(alice, address(settlement), 1_000 ether);
        fundAndApprove(bob, address(settlement), 1_000 ether);
        vm.prank(alice);
        settlement.deposit(100 ether);
        vm.prank(bob);
        settlement.deposit(50 ether);
    }

    struct Posted {
        uint256 batchId;
        bytes32[] leaves;
        uint256[] amounts;
        address[] accounts;
        uint256[] debits;
    }

    function _post(uint256 debitAlice, uint256 debitBob) internal returns (Posted memory p) {
        p.accounts = new address[](2);
        p.accounts[0] = alice;
        p.accounts[1] = bob;
        p.debits = new uint256[](2);
        p.debits[0] = debitAlice;
        p.debits[1] = debitBob;
        (,,, uint256 contributors) = settlement.splitFee(debitAlice + debitBob);
        (p.leaves, p.amounts) = _leaves(contributors);
        vm.prank(operator);
        p.batchId = settlement.postBatch(modelId, p.accounts, p.debits, Merkle.root(p.leaves), contributors);
    }

    function test_defaultsAfterDeploy() public view {
        InferenceSettlement.FeeSplit memory s = settlement.feeSplit();
        assertEq(uint256(s.platformBps) + s.modelOwnerBps + s.stakersBps + s.contributorsBps, 10_000);
        assertEq(settlement.platformTreasury(), treasury);
        assertEq(settlement.challengeWindow(), WINDOW);
        assertEq(address(settlement.verifier()), address(0));
        assertTrue(staking.hasRole(staking.SLASHER_ROLE(), address(settlement)));
    }

    function test_fullFlowPaysEveryShareExactly() public {
        uint256 stakingBefore = token.balanceOf(address(staking));
        Posted memory p = _post(3 ether + 7, 1 ether);
        uint256 fee = 4 ether + 7;
        assertEq(settlement.escrowOf(alice), 97 ether - 7);
        assertEq(settlement.escrowOf(bob), 49 ether);
        InferenceSettlement.Batch memory b = settlement.getBatch(p.batchId);
        assertEq(b.fee, fee);
        assertEq(b.platformShare + b.modelOwnerShare + b.stakersShare + b.contributorsShare, fee);
        assertEq(b.modelOwner, builder);

        vm.expectRevert(
            abi.encodeWithSelector(
                InferenceSettlement.ChallengeWindowOpen.selector, p.batchId, b.challengeDeadline, block.timestamp
            )
        );
        settlement.claim(p.batchId, p.amounts[0], Merkle.proof(p.leaves, 0));

        vm.warp(b.challengeDeadline);
        vm.prank(c1);
        settlement.claim(p.batchId, p.amounts[0], Merkle.proof(p.leaves, 0));
        settlement.claimFor(p.batchId, c2, p.amounts[1], Merkle.proof(p.leaves, 1));
        settlement.claimFor(p.batchId, c3, p.amounts[2], Merkle.proof(p.leaves, 2));
        assertTrue(settlement.hasClaimed(p.batchId, c2));
        assertEq(token.balanceOf(c1) + token.balanceOf(c2) + token.balanceOf(c3), b.contributorsShare);

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
        address[] memory accounts = new address[](1);
        accounts[0] = alice;
        uint256[] memory debits = new uint256[](1);
        debits[0] = 1 ether;
        (,,, uint256 contributors) = settlement.splitFee(1 ether);

        vm.expectRevert(abi.encodeWithSelector(InferenceSettlement.NotOperator.selector, alice));
        vm.prank(alice);
        settlement.postBatch(modelId, accounts, debits, keccak256("r"), contributors);

        vm.startPrank(operator);
        vm.expectRevert(abi.encodeWithSelector(InferenceSettlement.InactiveModel.selector, 99));
        settlement.postBatch(99, accounts, debits, keccak256("r"), contributors);
        vm.expectRevert(InferenceSettlement.EmptyBatch.selector);
        settlement.postBatch(modelId, new address[](0), new uint256[](0), keccak256("r"), 0);
        vm.expectRevert(abi.encodeWithSelector(InferenceSettlement.LengthMismatch.selector, 1, 2));
        settlement.postBatch(modelId, accounts, new uint256[](2), keccak256("r"), 0);
        vm.expectRevert(
            abi.encodeWithSelector(InferenceSettlement.ContributorsTotalMismatch.selector, contributors, contributors + 1)
        );
        settlement.postBatch(modelId, accounts, debits, keccak256("r"), contributors + 1);
        vm.expectRevert(InferenceSettlement.MissingContributorsRoot.selector);
        settlement.postBatch(modelId, accounts, debits, bytes32(0), contributors);
        debits[0] = type(uint256).max;
        vm.expectRevert(
            abi.encodeWithSelector(InferenceSettlement.InsufficientEscrow.selector, alice, 100 ether, type(uint256).max)
        );
        settlement.postBatch(modelId, accounts, debits, keccak256("r"), 0);
        vm.stopPrank();
    }

    function test_unstakedOrRetiredCannotSettle() public {
        vm.prank(operator);
        staking.unbond(operator, 4_500 ether);
        address[] memory accounts = new address[](1);
        accounts[0] = alice;
        vm.expectRevert(abi.encodeWithSelector(InferenceSettlement.NotOperator.selector, operator));
        vm.prank(operator);
        settlement.postBatch(modelId, accounts, new uint256[](1), bytes32(0), 0);
        vm.prank(operator);
        staking.stake(operator, 4_500 ether);
        vm.prank(builder);
        models.retireModel(modelId);
        vm.expectRevert(abi.encodeWithSelector(InferenceSettlement.InactiveModel.selector, modelId));
        vm.prank(operator);
        settlement.postBatch(modelId, accounts, new uint256[](1), bytes32(0), 0);
    }

    function test_zeroFeeBatchNeedsNoRoot() public {
        address[] memory accounts = new address[](1);
        accounts[0] = alice;
        vm.prank(operator);
        uint256 id = settlement.postBatch(modelId, accounts, new uint256[](1), bytes32(0), 0);
        vm.warp(block.timestamp + WINDOW);
        settlement.finalizeBatch(id);
        assertEq(uint8(settlement.getBatch(id).status), uint8(InferenceSettlement.BatchStatus.Finalized));
        vm.expectRevert(
            abi.encodeWithSelector(
                InferenceSettlement.WrongBatchStatus.selector, id, InferenceSettlement.BatchStatus.Finalized
            )
        );
        settlement.finalizeBatch(id);
    }

    function test_claimsNeedValidProofAndHappenOnce() public {
        Posted memory p = _post(10 ether, 0);
        vm.warp(block.timestamp + WINDOW);
        bytes32[] memory proof = Merkle.proof(p.leaves, 0);
        vm.expectRevert(
            abi.encodeWithSelector(InferenceSettlement.InvalidProof.selector, p.batchId, c1, p.amounts[0] + 1)
        );
        vm.prank(c1);
        settlement.claim(p.batchId, p.amounts[0] + 1, proof);
        vm.expectRevert(abi.encodeWithSelector(InferenceSettlement.InvalidProof.selector, p.batchId, c2, p.amounts[0]));
        vm.prank(c2);
        settlement.claim(p.batchId, p.amounts[0], proof);
        vm.expectRevert(InferenceSettlement.ZeroAmount.selector);
        settlement.claim(p.batchId, 0, proof);
        vm.prank(c1);
        settlement.claim(p.batchId, p.amounts[0], proof);
        vm.expectRevert(abi.encodeWithSelector(InferenceSettlement.AlreadyClaimed.selector, p.batchId, c1));
        vm.prank(c1);
        settlement.claim(p.batchId, p.amounts[0], proof);
        vm.expectRevert(abi.encodeWithSelector(InferenceSettlement.AlreadyClaimed.selector, p.batchId, c1));
        settlement.claimFor(p.batchId, c1, p.amounts[0], proof);
        vm.expectRevert(abi.encodeWithSelector(InferenceSettlement.UnknownBatch.selector, 999));
        settlement.claim(999, 1, proof);
    }

    function test_overcommittedRootCannotPayMoreThanTotal() public {
        address[] memory accounts = new address[](1);
        accounts[0] = alice;
        uint256[] memory debits = new uint256[](1);
        debits[0] = 10 ether;
        (,,, uint256 total) = settlement.splitFee(10 ether);
        bytes32[] memory leaves = new bytes32[](2);
        leaves[0] = Merkle.payoutLeaf(c1, total);
        leaves[1] = Merkle.payoutLeaf(c2, 1);
        vm.prank(operator);
        uint256 id = settlement.postBatch(modelId, accounts, debits, Merkle.root(leaves), total);
        vm.warp(block.timestamp + WINDOW);
        settlement.claimFor(id, c1, total, Merkle.proof(leaves, 0));
        vm.expectRevert(abi.encodeWithSelector(InferenceSettlement.ClaimExceedsBatch.selector, id, 1, 0));
        settlement.claimFor(id, c2, 1, Merkle.proof(leaves, 1));
    }

    function test_challengeThroughVerifierRevertsAndSlashes() public {
        IAttributionVerifier verifier = new RecomputingVerifier();
        vm.prank(admin);
        settlement.setVerifier(verifier);
        Posted memory p = _post(10 ether, 5 ether);
        bytes32 root = Merkle.root(p.leaves);
        vm.expectRevert(abi.encodeWithSelector(InferenceSettlement.ChallengeRejected.selector, p.batchId));
        vm.prank(challenger);
        settlement.challenge(p.batchId, abi.encode(root));

        vm.prank(challenger);
        settlement.challenge(p.batchId, abi.encode(keccak256("the honest root")));
        assertEq(uint8(settlement.getBatch(p.batchId).status), uint8(InferenceSettlement.BatchStatus.Reverted));
        assertEq(token.balanceOf(challenger), 500 ether);
        assertEq(settlement.earningsOf(treasury), 500 ether);
        assertEq(staking.stakeOf(operator, operator), 4_000 ether);

        vm.warp(block.timestamp + WINDOW);
        vm.expectRevert(
            abi.encodeWithSelector(
                InferenceSettlement.WrongBatchStatus.selector, p.batchId, InferenceSettlement.BatchStatus.Reverted
            )
        );
        settlement.claimFor(p.batchId, c1, p.amounts[0], Merkle.proof(p.leaves, 0));

        p.debits[1] += 1;
        vm.expectRevert(abi.encodeWithSelector(InferenceSettlement.DebitsMismatch.selector, p.batchId));
        settlement.refundRevertedBatch(p.batchId, p.accounts, p.debits);
        p.debits[1] -= 1;
        settlement.refundRevertedBatch(p.batchId, p.accounts, p.debits);
        assertEq(settlement.escrowOf(alice), 100 ether);
        assertEq(settlement.escrowOf(bob), 50 ether);
        vm.expectRevert(
            abi.encodeWithSelector(
                InferenceSettlement.WrongBatchStatus.selector, p.batchId, InferenceSettlement.BatchStatus.Refunded
            )
        );
        settlement.refundRevertedBatch(p.batchId, p.accounts, p.debits);
        assertEq(
            token.balanceOf(address(settlement)),
            settlement.totalEscrow() + settlement.totalEarnings() + settlement.totalLocked()
        );
    }

    function test_challengeWithoutVerifierOrAfterWindow() public {
        Posted memory p = _post(1 ether, 0);
        vm.expectRevert(InferenceSettlement.VerifierNotSet.selector);
        settlement.challenge(p.batchId, "");
        IAttributionVerifier verifier = new RecomputingVerifier();
        vm.prank(admin);
        settlement.setVerifier(verifier);
        uint64 deadline = settlement.getBatch(p.batchId).challengeDeadline;
        vm.warp(deadline);
        vm.expectRevert(
            abi.encodeWithSelector(InferenceSettlement.ChallengeWindowClosed.selector, p.batchId, deadline, deadline)
        );
        settlement.challenge(p.batchId, abi.encode(bytes32(0)));
        settlement.finalizeBatch(p.batchId);
        vm.expectRevert(
            abi.encodeWithSelector(
                InferenceSettlement.WrongBatchStatus.selector, p.batchId, InferenceSettlement.BatchStatus.Finalized
            )
        );
        settlement.challenge(p.batchId, abi.encode(bytes32(0)));
    }

    function test_challengeInvalidLeafNeedsNoVerifier() public {
        address[] memory accounts = new address[](1);
        accounts[0] = alice;
        uint256[] memory debits = new uint256[](1);
        debits[0] = 2 ether;
        (,,, uint256 total) = settlement.splitFee(2 ether);
        bytes32[] memory leaves = new bytes32[](2);
        leaves[0] = Merkle.payoutLeaf(c1, total);
        leaves[1] = Merkle.payoutLeaf(c2, total + 1);
        vm.prank(operator);
        uint256 id = settlement.postBatch(modelId, accounts, debits, Merkle.root(leaves), total);
        vm.expectRevert(abi.encodeWithSelector(InferenceSettlement.ChallengeRejected.selector, id));
        settlement.challengeInvalidLeaf(id, c1, total, Merkle.proof(leaves, 0));
        vm.expectRevert(abi.encodeWithSelector(InferenceSettlement.InvalidProof.selector, id, c2, total + 2));
        settlement.challengeInvalidLeaf(id, c2, total + 2, Merkle.proof(leaves, 1));
        vm.prank(challenger);
        settlement.challengeInvalidLeaf(id, c2, total + 1, Merkle.proof(leaves, 1));
        assertEq(uint8(settlement.getBatch(id).status), uint8(InferenceSettlement.BatchStatus.Reverted));
        assertEq(token.balanceOf(challenger), 500 ether);
    }

    function test_slashCappedAtOperatorPool() public {
        IAttributionVerifier verifier = new RecomputingVerifier();
        vm.startPrank(admin);
        settlement.setVerifier(verifier);
        settlement.setSlashParams(type(uint256).max, 10_000);
        vm.stopPrank();
        Posted memory p = _post(1 ether, 0);
        vm.prank(challenger);
        settlement.challenge(p.batchId, abi.encode(bytes32(uint256(1))));
        assertEq(token.balanceOf(challenger), 5_000 ether);
        assertFalse(staking.isOperator(operator));
    }

    function test_withdrawalWaitsForDelay() public {
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
        settlement.requestWithdrawal(100 ether);
        uint64 readyAt = settlement.withdrawalOf(alice).readyAt;
        vm.expectRevert(
            abi.encodeWithSelector(InferenceSettlement.WithdrawalNotReady.selector, alice, readyAt, block.timestamp)
        );
        vm.prank(alice);
        settlement.withdraw();
        _post(30 ether, 0); // still debitable while the request waits
        vm.warp(readyAt);
        uint256 before = token.balanceOf(alice);
        vm.prank(alice);
        assertEq(settlement.withdraw(), 70 ether);
        assertEq(token.balanceOf(alice) - before, 70 ether);
        assertEq(settlement.escrowOf(alice), 0);
    }

    function test_depositForAndZeroDeposit() public {
        vm.expectRevert(InferenceSettlement.ZeroAmount.selector);
        vm.prank(alice);
        settlement.deposit(0);
        vm.expectRevert(InferenceSettlement.ZeroAddress.selector);
        vm.prank(alice);
        settlement.depositFor(address(0), 1);
        vm.prank(alice);
        settlement.depositFor(c1, 5 ether);
        assertEq(settlement.escrowOf(c1), 5 ether);
    }

    function test_maxUintAmountsAreRejected() public {
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientBalance.selector, alice, 900 ether, type(uint256).max)
        );
        vm.prank(alice);
        settlement.deposit(type(uint256).max);
        assertEq(settlement.escrowOf(alice), 100 ether);

        Posted memory p = _post(1 ether, 0);
        vm.warp(block.timestamp + WINDOW);
        bytes32[] memory proof = Merkle.proof(p.leaves, 0);
        vm.expectRevert(
            abi.encodeWithSelector(InferenceSettlement.InvalidProof.selector, p.batchId, c1, type(uint256).max)
        );
        settlement.claimFor(p.batchId, c1, type(uint256).max, proof);
        vm.expectRevert(
            abi.encodeWithSelector(InferenceSettlement.InsufficientEscrow.selector, alice, 99 ether, type(uint256).max)
        );
        vm.prank(alice);
        settlement.requestWithdrawal(type(uint256).max);
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

    function test_parametersOnlyByAdmin() public {
        bytes32 role = settlement.DEFAULT_ADMIN_ROLE();
        bytes memory denied =
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, alice, role);
        vm.startPrank(alice);
        vm.expectRevert(denied);
        settlement.setFeeSplit(0, 0, 0, 10_000);
        vm.expectRevert(denied);
        settlement.setVerifier(IAttributionVerifier(alice));
        vm.expectRevert(denied);
        settlement.setChallengeWindow(0);
        vm.expectRevert(denied);
        settlement.setWithdrawalDelay(0);
        vm.expectRevert(denied);
        settlement.setSlashParams(0, 0);
        vm.expectRevert(denied);
        settlement.setPlatformTreasury(alice);
        vm.stopPrank();

        vm.startPrank(admin);
        vm.expectRevert(abi.encodeWithSelector(InferenceSettlement.InvalidFeeSplit.selector, 9_999));
        settlement.setFeeSplit(1, 2, 3, 9_993);
        vm.expectRevert(abi.encodeWithSelector(InferenceSettlement.InvalidFeeSplit.selector, 40_000));
        settlement.setFeeSplit(10_000, 10_000, 10_000, 10_000);
        vm.expectRevert(abi.encodeWithSelector(InferenceSettlement.InvalidBps.selector, 10_001));
        settlement.setSlashParams(1, 10_001);
        vm.expectRevert(InferenceSettlement.ZeroAddress.selector);
        settlement.setPlatformTreasury(address(0));
        settlement.setFeeSplit(1000, 2000, 3000, 4000);
        settlement.setChallengeWindow(5);
        settlement.setWithdrawalDelay(6);
        vm.stopPrank();
        InferenceSettlement.FeeSplit memory s = settlement.feeSplit();
        assertEq(s.contributorsBps, 4000);
        assertEq(settlement.challengeWindow(), 5);
        assertEq(settlement.withdrawalDelay(), 6);
    }

    function testFuzz_splitSumsToFeeToTheWei(uint256 fee, uint16 a, uint16 b, uint16 c) public {
        fee = bound(fee, 0, type(uint256).max / 10_000);
        a = uint16(bound(a, 0, 10_000));
        b = uint16(bound(b, 0, 10_000 - a));
        c = uint16(bound(c, 0, 10_000 - a - b));
        vm.prank(admin);
        settlement.setFeeSplit(10_000 - a - b - c, a, b, c);
        (uint256 platform, uint256 owner, uint256 stakers, uint256 contributors) = settlement.splitFee(fee);
        assertEq(platform + owner + stakers + contributors, fee);
        assertEq(owner, (fee * a) / 10_000);
        assertEq(stakers, (fee * b) / 10_000);
        assertEq(contributors, (fee * c) / 10_000);
        assertLe(platform - (fee * (10_000 - a - b - c)) / 10_000, 3); // dust to the platform: < 3 wei
    }
}

/// @notice Random deposits, batches, challenges, finalizations and claims (valid, forged, repeated).
contract SettlementHandler is SettlementBase {
    uint256 public feesPosted;
    uint256 public feesReverted;
    uint256 public paidPlatformAndOwner;
    uint256 public paidContributors;
    uint256 public forgedClaimsAccepted;
    uint256 public repeatClaimsAccepted;
    uint256[] public batchIds;
    mapping(uint256 batchId => uint256[]) internal _amounts;
    mapping(uint256 batchId => bytes32[]) internal _leafSets;
    mapping(uint256 batchId => address[]) internal _accountsOf;
    mapping(uint256 batchId => uint256[]) internal _debitsOf;
    address[] internal payers;

    constructor() {
        _setUpProtocol();
        vm.prank(admin);
        settlement.setSlashParams(1 ether, 5000);
        IAttributionVerifier verifier = new RecomputingVerifier();
        vm.prank(admin);
        settlement.setVerifier(verifier);
        payers.push(alice);
        payers.push(bob);
        for (uint256 i = 0; i < payers.length; i++) {
            fundAndApprove(payers[i], address(settlement), 4e8 ether);
        }
    }

    function batchCount() external view returns (uint256) {
        return batchIds.length;
    }

    function deposit(uint256 seed, uint256 amount) external {
        amount = bound(amount, 1, 1e24);
        vm.prank(payers[seed % 2]);
        settlement.deposit(amount);
    }

    function post(uint256 a, uint256 b) external {
        a = bound(a, 0, settlement.escrowOf(alice));
        b = bound(b, 0, settlement.escrowOf(bob));
        address[] memory accounts = new address[](2);
        accounts[0] = alice;
        accounts[1] = bob;
        uint256[] memory debits = new uint256[](2);
        debits[0] = a;
        debits[1] = b;
        (,,, uint256 contributors) = settlement.splitFee(a + b);
        (bytes32[] memory leaves, uint256[] memory amounts) = _leaves(contributors);
        vm.prank(operator);
        uint256 id = settlement.postBatch(modelId, accounts, debits, Merkle.root(leaves), contributors);
        batchIds.push(id);
        _amounts[id] = amounts;
        _leafSets[id] = leaves;
        _accountsOf[id] = accounts;
        _debitsOf[id] = debits;
        feesPosted += a + b;
    }

    function warp(uint256 secs) external {
        vm.warp(block.timestamp + bound(secs, 0, 2 * WINDOW));
    }

    function challenge(uint256 seed) external {
        if (batchIds.length == 0) return;
        uint256 id = batchIds[seed % batchIds.length];
        InferenceSettlement.Batch memory b = settlement.getBatch(id);
        if (b.status != InferenceSettlement.BatchStatus.Pending || block.timestamp >= b.challengeDeadline) return;
        settlement.challenge(id, abi.encode(keccak256(abi.encode(seed))));
        feesReverted += b.fee;
        settlement.refundRevertedBatch(id, _accountsOf[id], _debitsOf[id]);
    }

    function finalize(uint256 seed) external {
        if (batchIds.length == 0) return;
        uint256 id = batchIds[seed % batchIds.length];
        InferenceSettlement.Batch memory b = settlement.getBatch(id);
        if (b.status != InferenceSettlement.BatchStatus.Pending || block.timestamp < b.challengeDeadline) return;
        settlement.finalizeBatch(id);
    }

    function claim(uint256 seed, uint256 who) external {
        if (batchIds.length == 0) return;
        uint256 id = batchIds[seed % batchIds.length];
        InferenceSettlement.Batch memory b = settlement.getBatch(id);
        bool due = b.status == InferenceSettlement.BatchStatus.Pending && block.timestamp >= b.challengeDeadline;
        if (b.status != InferenceSettlement.BatchStatus.Finalized && !due) return;
        uint256 i = who % 3;
        address account = i == 0 ? c1 : i == 1 ? c2 : c3;
        uint256 amount = _amounts[id][i];
        bytes32[] memory proof = Merkle.proof(_leafSets[id], i);
        if (amount == 0) return;
        bool already = settlement.hasClaimed(id, account);
        try settlement.claimFor(id, account, amount, proof) {
            if (already) repeatClaimsAccepted++;
            else paidContributors += amount;
        } catch {}
    }

    function forgeClaim(uint256 seed, uint256 amount, bytes32 sibling) external {
        if (batchIds.length == 0) return;
        uint256 id = batchIds[seed % batchIds.length];
        bytes32[] memory proof = new bytes32[](1);
        proof[0] = sibling;
        try settlement.claimFor(id, makeAddr("forger"), amount, proof) {
            forgedClaimsAccepted++;
        } catch {}
    }

    function claimEarnings(uint256 seed) external {
        address who = seed % 2 == 0 ? treasury : builder;
        if (settlement.earningsOf(who) == 0) return;
        vm.prank(who);
        paidPlatformAndOwner += settlement.claimEarnings(who);
    }

    function batchAt(uint256 i) external view returns (InferenceSettlement.Batch memory) {
        return settlement.getBatch(batchIds[i]);
    }

    function tokenAddr() external view returns (address) {
        return address(token);
    }

    function settlementAddr() external view returns (address) {
        return address(settlement);
    }
}

contract InferenceSettlementInvariantTest is Fixture {
    SettlementHandler handler;
    InferenceSettlement s;

    function setUp() public {
        handler = new SettlementHandler();
        s = InferenceSettlement(handler.settlementAddr());
        targetContract(address(handler));
        bytes4[] memory selectors = new bytes4[](8);
        selectors[0] = SettlementHandler.deposit.selector;
        selectors[1] = SettlementHandler.post.selector;
        selectors[2] = SettlementHandler.warp.selector;
        selectors[3] = SettlementHandler.challenge.selector;
        selectors[4] = SettlementHandler.finalize.selector;
        selectors[5] = SettlementHandler.claim.selector;
        selectors[6] = SettlementHandler.forgeClaim.selector;
        selectors[7] = SettlementHandler.claimEarnings.selector;
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
    }

    /// forge-config: default.invariant.fail-on-revert = true
    function invariant_everyBatchSplitsExactlyAndPaysAtMostItsShare() public view {
        uint256 contributorsClaimed;
        uint256 finalizedPlatformAndOwner;
        for (uint256 i = 0; i < handler.batchCount(); i++) {
            InferenceSettlement.Batch memory b = handler.batchAt(i);
            assertEq(b.platformShare + b.modelOwnerShare + b.stakersShare + b.contributorsShare, b.fee);
            assertLe(b.contributorsClaimed, b.contributorsShare);
            contributorsClaimed += b.contributorsClaimed;
            if (b.status == InferenceSettlement.BatchStatus.Finalized) {
                finalizedPlatformAndOwner += b.platformShare + b.modelOwnerShare;
            } else {
                assertEq(b.contributorsClaimed, 0);
            }
        }
        assertEq(contributorsClaimed, handler.paidContributors());
        // earnings hold finalized platform/owner shares plus the platform's part of slashes
        assertGe(s.totalEarnings() + handler.paidPlatformAndOwner(), finalizedPlatformAndOwner);
    }

    function invariant_balanceCoversEveryLiability() public view {
        assertEq(
            OpenTokenLike(handler.tokenAddr()).balanceOf(address(s)),
            s.totalEscrow() + s.totalLocked() + s.totalEarnings() + s.totalContributorsOwed()
        );
    }

    function invariant_noForgedOrRepeatedClaims() public view {
        assertEq(handler.forgedClaimsAccepted(), 0);
        assertEq(handler.repeatClaimsAccepted(), 0);
    }
}

interface OpenTokenLike {
    function balanceOf(address) external view returns (uint256);
}
