// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {console} from "forge-std/console.sol";
import {InferenceSettlement} from "../src/InferenceSettlement.sol";
import {SumNode} from "../src/libraries/RecordTree.sol";
import {Fixture} from "./utils/Fixture.sol";
import {Records} from "./utils/Records.sol";
import {SettlementBase} from "./InferenceSettlement.t.sol";

/// @notice Random sequences of deposits, authorisations, batches (honest and rogue), withdrawals, debit
/// disputes (answered or not), evidence requests, challenges, refunds, stakes and claims, with ghost
/// accounting of what each escrow may lose.
contract SettlementHandler is SettlementBase {
    address challenger = makeAddr("challenger");
    address delegator = makeAddr("delegator");
    address rogue = makeAddr("rogue operator");
    address[] public actors;
    address[2] internal payers;
    uint256[2] internal pks;

    mapping(address payer => uint256) public escrowGhost;
    mapping(address payer => uint256) public spentGhost;
    uint256 public rogueDebits;
    uint256 public debitsOverCap;
    uint256 public totalSupplyHeld;
    /// @notice How often each path ran (printed after each run with -vv).
    uint256 public posted;
    uint256 public answered;
    uint256 public reverted;
    uint256 public claims;
    uint256 public refunds;
    uint256 public withdrawals;
    uint256[] internal batchIds;
    mapping(uint256 batchId => address[]) internal _payersOf;
    mapping(uint256 batchId => uint256[]) internal _amountsOf;
    mapping(uint256 batchId => uint256[]) internal _spentAfterOf;
    mapping(uint256 batchId => bool[]) internal _voucherOnlyOf;
    uint256[] internal disputeIds;
    uint256[] internal unbondingIds;
    /// @notice Whether the delegator had stake in the operator's pool when each batch was posted.
    mapping(uint256 batchId => bool) internal _delegatorBonded;
    /// @notice Times a batch's close paid rewards to, or slashed, a delegator not bonded at its posting.
    uint256 public stakeViolations;

    constructor() {
        _setUpProtocol();
        _useVerifier();
        payers = [alice, bob];
        pks = [alicePk, 0];
        _payer(alice, 1_000 ether, true);
        _payer(bob, 1_000 ether, false);
        escrowGhost[alice] = 1_000 ether;
        escrowGhost[bob] = 1_000 ether;
        fundAndApprove(alice, address(settlement), 1e24);
        fundAndApprove(bob, address(settlement), 1e24);
        fundAndApprove(delegator, address(staking), 1e24);
        fundAndApprove(rogue, address(staking), MIN_STAKE);
        vm.prank(rogue);
        staking.stake(rogue, MIN_STAKE);
        fund(operator, 1e24);
        actors = [alice, bob, operator, builder, treasury, challenger, delegator, rogue, c1, c2, c3];
        for (uint256 i; i < actors.length; ++i) {
            totalSupplyHeld += token.balanceOf(actors[i]);
        }
        totalSupplyHeld += token.balanceOf(address(settlement)) + token.balanceOf(address(staking));
    }

    // ---------------------------------------------------------------- payers

    function deposit(uint256 who, uint256 amount) external {
        address payer = payers[who % 2];
        amount = bound(amount, 1, 1e21);
        vm.prank(payer);
        settlement.deposit(amount);
        escrowGhost[payer] += amount;
    }

    function authorize(uint256 who, uint256 cap, uint256 life) external {
        address payer = payers[who % 2];
        cap = bound(cap, 0, 1e22);
        vm.prank(payer);
        settlement.authorize(operator, cap, uint64(block.timestamp + bound(life, 1 days, 30 days)), who % 2 == 0);
    }

    function requestWithdrawal(uint256 who, uint256 amount) external {
        address payer = payers[who % 2];
        uint256 balance = settlement.escrowOf(payer);
        if (balance == 0) return;
        vm.prank(payer);
        settlement.requestWithdrawal(bound(amount, 1, balance));
    }

    function withdraw(uint256 who) external {
        address payer = payers[who % 2];
        vm.prank(payer);
        try settlement.withdraw() returns (uint256 amount) {
            escrowGhost[payer] -= amount;
            withdrawals++;
        } catch {}
    }

    // ---------------------------------------------------------------- operators

    function post(uint256 a, uint256 b, uint256 prepaid) external {
        uint256[] memory amounts = new uint256[](2);
        address[] memory who = new address[](2);
        for (uint256 i; i < 2; ++i) {
            who[i] = payers[i];
            InferenceSettlement.Authorization memory auth = settlement.authorizationOf(who[i], operator);
            if (block.timestamp > auth.expiry) return;
            uint256 room = auth.cap > auth.spent ? auth.cap - auth.spent : 0;
            uint256 available = settlement.debitableOf(who[i]);
            uint256 most = room < available ? room : available;
            amounts[i] = bound(i == 0 ? a : b, 0, most);
        }
        prepaid = bound(prepaid, 0, 1e20);
        if (amounts[0] + amounts[1] + prepaid == 0) return;
        Posted memory p = _post(who, amounts, prepaid);
        posted++;
        _delegatorBonded[p.batchId] = _delegatorHeld() > 0;
        batchIds.push(p.batchId);
        _payersOf[p.batchId] = who;
        _amountsOf[p.batchId] = amounts;
        _spentAfterOf[p.batchId] = p.spentAfter;
        _voucherOnlyOf[p.batchId] = p.voucherOnly;
        for (uint256 i; i < 2; ++i) {
            escrowGhost[who[i]] -= amounts[i];
            spentGhost[who[i]] += amounts[i];
            if (p.spentAfter[i] > settlement.authorizationOf(who[i], operator).cap) debitsOverCap++;
        }
    }

    /// A staked operator that no payer authorised tries to debit them.
    function rogueDebit(uint256 who, uint256 amount) external {
        address[] memory victims = new address[](1);
        victims[0] = payers[who % 2];
        uint256[] memory amounts = new uint256[](1);
        amounts[0] = bound(amount, 1, 1e21);
        vm.prank(rogue);
        try settlement.postBatch(modelId, victims, amounts, 0, keccak256("r"), 0) {
            rogueDebits++;
        } catch {}
    }

    function warp(uint256 secs) external {
        vm.warp(block.timestamp + bound(secs, 0, 2 * WINDOW));
    }

    // ---------------------------------------------------------------- judging

    function _posted(uint256 seed) internal view returns (Posted memory p, InferenceSettlement.Batch memory b) {
        p.batchId = batchIds[seed % batchIds.length];
        b = settlement.getBatch(p.batchId);
        p.payers = _payersOf[p.batchId];
        p.amounts = _amountsOf[p.batchId];
        p.spentAfter = _spentAfterOf[p.batchId];
        p.voucherOnly = _voucherOnlyOf[p.batchId];
        p.debitLeaves = new bytes32[](2);
        for (uint256 i; i < 2; ++i) {
            p.debitLeaves[i] = Records.debitLeaf(p.payers[i], p.amounts[i], p.spentAfter[i], p.voucherOnly[i]);
        }
        _rebuildRecords(p, b.contributorsShare);
    }

    function _rebuildRecords(Posted memory p, uint256 total) internal view {
        _records(p, total);
        p.payouts[0][0].account = c1;
        p.payouts[0][1].account = c2;
        p.payouts[1][0].account = c3;
        p.recordLeaves = new SumNode[](2);
        for (uint256 r; r < 2; ++r) {
            p.recordLeaves[r] = Records.leaf(keccak256(p.attributions[r]), p.payouts[r]);
        }
    }

    function disputeDebit(uint256 seed) external {
        if (batchIds.length == 0) return;
        (Posted memory p,) = _posted(seed);
        if (!p.voucherOnly[0]) return;
        vm.prank(alice);
        try settlement.disputeDebit(p.batchId, _debit(p, 0)) returns (uint256 id) {
            disputeIds.push(id);
        } catch {}
    }

    function requestEvidence(uint256 seed, uint256 r) external {
        if (batchIds.length == 0) return;
        (Posted memory p,) = _posted(seed);
        vm.prank(challenger);
        try settlement.requestEvidence(p.batchId, _record(p, r % 2)) returns (uint256 id) {
            disputeIds.push(id);
        } catch {}
    }

    /// The operator answers: alice signed vouchers for everything she was debited.
    function answer(uint256 seed) external {
        if (disputeIds.length == 0) return;
        uint256 id = disputeIds[seed % disputeIds.length];
        InferenceSettlement.Dispute memory d = settlement.getDispute(id);
        if (d.status != InferenceSettlement.DisputeStatus.Open || block.timestamp >= d.answerBy) return;
        (Posted memory p,) = _posted(_indexOf(d.batchId));
        vm.startPrank(operator);
        if (d.kind == InferenceSettlement.DisputeKind.Debit) {
            settlement.answerDebit(
                id, alice, p.spentAfter[0], p.spentAfter[0], _voucher(alicePk, alice, p.spentAfter[0])
            );
        } else {
            uint256 r = keccak256(p.attributions[0]) == d.subject ? 0 : 1;
            settlement.answerEvidence(id, p.attributions[r], p.attributions[r]);
        }
        vm.stopPrank();
        answered++;
    }

    function resolve(uint256 seed) external {
        if (disputeIds.length == 0) return;
        uint256 id = disputeIds[seed % disputeIds.length];
        (uint256 held, uint256 pending) = _delegatorBefore();
        try settlement.resolveDispute(id) {
            reverted++;
            _checkDelegator(settlement.getDispute(id).batchId, held, pending);
        } catch {}
    }

    function challenge(uint256 seed) external {
        if (batchIds.length == 0) return;
        (Posted memory p,) = _posted(seed);
        (uint256 held, uint256 pending) = _delegatorBefore();
        vm.prank(challenger);
        try settlement.challenge(p.batchId, _record(p, seed % 2), abi.encode(keccak256(abi.encode(seed)))) {
            reverted++;
            _checkDelegator(p.batchId, held, pending);
        } catch {}
    }

    function finalize(uint256 seed) external {
        if (batchIds.length == 0) return;
        uint256 batchId = batchIds[seed % batchIds.length];
        (uint256 held, uint256 pending) = _delegatorBefore();
        try settlement.finalizeBatch(batchId) {
            _checkDelegator(batchId, held, pending);
        } catch {}
    }

    function claim(uint256 seed, uint256 r, uint256 e) external {
        if (batchIds.length == 0) return;
        (Posted memory p,) = _posted(seed);
        r = r % 2;
        (uint256 held, uint256 pending) = _delegatorBefore();
        try settlement.claim(p.batchId, _claim(p, r, e % p.payouts[r].length)) {
            claims++;
            _checkDelegator(p.batchId, held, pending);
        } catch {}
    }

    function refund(uint256 seed, uint256 i) external {
        if (batchIds.length == 0) return;
        (Posted memory p,) = _posted(seed);
        i = i % 2;
        InferenceSettlement.Debit[] memory one = new InferenceSettlement.Debit[](1);
        one[0] = _debit(p, i);
        try settlement.refund(p.batchId, one) {
            escrowGhost[p.payers[i]] += p.amounts[i];
            spentGhost[p.payers[i]] -= p.amounts[i];
            refunds++;
        } catch {}
    }

    // ---------------------------------------------------------------- stakers and earners

    function stake(uint256 amount) external {
        vm.prank(delegator);
        try staking.stake(operator, bound(amount, 1, 1e21)) {} catch {}
    }

    function unbond(uint256 amount) external {
        uint256 held = _delegatorHeld();
        if (held == 0) return;
        vm.prank(delegator);
        unbondingIds.push(staking.unbond(operator, bound(amount, 1, held)));
    }

    function withdrawStake(uint256 seed) external {
        if (unbondingIds.length == 0) return;
        uint256 i = seed % unbondingIds.length;
        (,, uint64 readyAt,) = staking.unbondingOf(unbondingIds[i]);
        if (block.timestamp < readyAt) vm.warp(readyAt);
        vm.prank(delegator);
        staking.withdraw(unbondingIds[i]);
        unbondingIds[i] = unbondingIds[unbondingIds.length - 1];
        unbondingIds.pop();
    }

    function activate() external {
        try staking.activate(operator, delegator) {} catch {}
    }

    function _delegatorHeld() internal view returns (uint256) {
        (uint256 warming,) = staking.warmingOf(operator, delegator);
        return staking.stakeOf(operator, delegator) + warming;
    }

    function _delegatorBefore() internal view returns (uint256 held, uint256 pending) {
        return (_delegatorHeld(), staking.pendingRewards(operator, delegator));
    }

    /// A batch's close may pay or cut the delegator only if it held stake when the batch was posted.
    function _checkDelegator(uint256 batchId, uint256 held, uint256 pending) internal {
        if (_delegatorBonded[batchId]) return;
        if (_delegatorHeld() != held || staking.pendingRewards(operator, delegator) != pending) stakeViolations++;
    }

    function claimRewards(uint256 who) external {
        address account = who % 2 == 0 ? operator : delegator;
        vm.prank(account);
        staking.claimRewards(operator);
    }

    function claimEarnings(uint256 who) external {
        address account = actors[who % actors.length];
        if (settlement.earningsOf(account) == 0) return;
        vm.prank(account);
        settlement.claimEarnings(account);
    }

    // ---------------------------------------------------------------- views for the invariants

    function _indexOf(uint256 batchId) internal view returns (uint256) {
        for (uint256 i; i < batchIds.length; ++i) {
            if (batchIds[i] == batchId) return i;
        }
        revert("unknown batch");
    }

    function batchCount() external view returns (uint256) {
        return batchIds.length;
    }

    function batchAt(uint256 i) external view returns (InferenceSettlement.Batch memory) {
        return settlement.getBatch(batchIds[i]);
    }

    function payer(uint256 i) external view returns (address) {
        return payers[i];
    }

    function actorCount() external view returns (uint256) {
        return actors.length;
    }

    function settlementContract() external view returns (InferenceSettlement) {
        return settlement;
    }

    function tokenBalance(address account) external view returns (uint256) {
        return token.balanceOf(account);
    }

    function stakingAddress() external view returns (address) {
        return address(staking);
    }

    function operatorAddress() external view returns (address) {
        return operator;
    }
}

/// forge-config: default.invariant.runs = 24
/// forge-config: default.invariant.depth = 48
contract SettlementInvariantTest is Fixture {
    SettlementHandler handler;
    InferenceSettlement s;

    function setUp() public {
        handler = new SettlementHandler();
        s = handler.settlementContract();
        targetContract(address(handler));
        bytes4[] memory selectors = new bytes4[](25);
        selectors[0] = SettlementHandler.deposit.selector;
        selectors[1] = SettlementHandler.authorize.selector;
        selectors[2] = SettlementHandler.requestWithdrawal.selector;
        selectors[3] = SettlementHandler.withdraw.selector;
        selectors[4] = SettlementHandler.post.selector;
        selectors[5] = SettlementHandler.post.selector;
        selectors[6] = SettlementHandler.post.selector;
        selectors[7] = SettlementHandler.rogueDebit.selector;
        selectors[8] = SettlementHandler.warp.selector;
        selectors[9] = SettlementHandler.warp.selector;
        selectors[10] = SettlementHandler.disputeDebit.selector;
        selectors[11] = SettlementHandler.requestEvidence.selector;
        selectors[12] = SettlementHandler.answer.selector;
        selectors[13] = SettlementHandler.resolve.selector;
        selectors[14] = SettlementHandler.challenge.selector;
        selectors[15] = SettlementHandler.finalize.selector;
        selectors[16] = SettlementHandler.claim.selector;
        selectors[17] = SettlementHandler.claim.selector;
        selectors[18] = SettlementHandler.refund.selector;
        selectors[19] = SettlementHandler.stake.selector;
        selectors[20] = SettlementHandler.claimRewards.selector;
        selectors[21] = SettlementHandler.claimEarnings.selector;
        selectors[22] = SettlementHandler.unbond.selector;
        selectors[23] = SettlementHandler.withdrawStake.selector;
        selectors[24] = SettlementHandler.activate.selector;
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
    }

    /// No escrow falls except by its own withdrawal or a debit within its authorisation of the operator.
    function invariant_escrowsFallOnlyByWithdrawalOrAuthorisedDebit() public view {
        for (uint256 i; i < 2; ++i) {
            address payer = handler.payer(i);
            assertEq(s.escrowOf(payer), handler.escrowGhost(payer), "escrow");
            assertEq(s.authorizationOf(payer, handler.operatorAddress()).spent, handler.spentGhost(payer), "spent");
        }
        assertEq(handler.debitsOverCap(), 0, "debit over cap");
        assertEq(handler.rogueDebits(), 0, "debit by an operator nobody authorised");
    }

    function invariant_settlementHoldsExactlyItsLiabilities() public view {
        assertEq(
            handler.tokenBalance(address(s)),
            s.totalEscrow() + s.totalLocked() + s.totalEarnings() + s.totalContributorsOwed()
        );
    }

    /// Tokens only move between the parties: their balances sum to what they held at the start, to the wei.
    function invariant_valueIsConservedToTheWei() public view {
        uint256 sum = handler.tokenBalance(address(s)) + handler.tokenBalance(handler.stakingAddress());
        for (uint256 i; i < handler.actorCount(); ++i) {
            sum += handler.tokenBalance(handler.actors(i));
        }
        assertEq(sum, handler.totalSupplyHeld());
    }

    /// A batch's stakers' share and slash reach only stake bonded in its operator's pool when it was posted.
    function invariant_stakeRewardsAndSlashesFollowPostingTime() public view {
        assertEq(handler.stakeViolations(), 0);
    }

    function afterInvariant() public view {
        console.log(
            "posted %d, disputes answered %d, reverted %d", handler.posted(), handler.answered(), handler.reverted()
        );
        console.log("claims %d, refunds %d, withdrawals %d", handler.claims(), handler.refunds(), handler.withdrawals());
    }

    function invariant_everyBatchSplitsExactlyAndPaysAtMostItsShare() public view {
        for (uint256 i; i < handler.batchCount(); ++i) {
            InferenceSettlement.Batch memory b = handler.batchAt(i);
            assertEq(b.platformShare + b.modelOwnerShare + b.stakersShare + b.contributorsShare, b.fee);
            assertLe(b.contributorsClaimed, b.contributorsShare);
            if (b.status != InferenceSettlement.BatchStatus.Finalized) assertEq(b.contributorsClaimed, 0);
        }
    }
}
