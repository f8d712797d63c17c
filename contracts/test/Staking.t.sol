// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Test} from "forge-std/Test.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {Staking} from "../src/Staking.sol";
import {OpenToken} from "../src/token/OpenToken.sol";

contract StakingTest is Test {
    OpenToken token;
    Staking staking;
    address admin = makeAddr("admin");
    address slasher = makeAddr("slasher");
    address op1 = makeAddr("op1");
    address op2 = makeAddr("op2");
    address del = makeAddr("delegator");
    address late = makeAddr("late");
    address sink = makeAddr("sink");
    uint256 nextBatch = 1;

    function setUp() public {
        token = new OpenToken(admin, address(this), 1e9 ether);
        staking = new Staking(admin, token, 1000 ether, 7 days);
        bytes32 role = staking.SLASHER_ROLE();
        vm.prank(admin);
        staking.grantRole(role, slasher);
        address[5] memory who = [op1, op2, del, late, slasher];
        for (uint256 i = 0; i < who.length; i++) {
            token.transfer(who[i], 1e6 ether);
            vm.prank(who[i]);
            token.approve(address(staking), type(uint256).max);
        }
    }

    function _stake(address who, address op, uint256 amount) internal returns (uint256 shares) {
        vm.prank(who);
        shares = staking.stake(op, amount);
    }

    function _open(address op) internal returns (uint256 id) {
        id = nextBatch++;
        vm.prank(slasher);
        staking.openBatch(op, id);
    }

    function _close(uint256 id, uint256 reward) internal {
        vm.prank(slasher);
        staking.closeBatch(id, reward);
    }

    /// A batch opened and closed with `amount` as its stakers' share.
    function _reward(address op, uint256 amount) internal {
        _close(_open(op), amount);
    }

    function test_selfStakeRegistersOperatorAboveMinimum() public {
        vm.expectEmit(address(staking));
        emit Staking.OperatorRegistered(op1);
        _stake(op1, op1, 999 ether);
        assertFalse(staking.isOperator(op1));
        _stake(op1, op1, 1 ether);
        assertTrue(staking.isOperator(op1));
        assertEq(staking.stakeOf(op1, op1), 1000 ether);
        assertEq(staking.totalStaked(), 1000 ether);
        assertEq(token.balanceOf(address(staking)), 1000 ether);
    }

    function test_delegationNeedsRegisteredOperator() public {
        vm.expectRevert(abi.encodeWithSelector(Staking.UnknownOperator.selector, op1));
        _stake(del, op1, 1 ether);
        _stake(op1, op1, 1000 ether);
        _stake(del, op1, 500 ether);
        assertEq(staking.stakeOf(op1, del), 500 ether);
        (, uint256 poolStake,,) = staking.poolOf(op1);
        assertEq(poolStake, 1500 ether);
        assertFalse(staking.isOperator(del));
    }

    function test_zeroAmountsRevert() public {
        vm.expectRevert(Staking.ZeroAmount.selector);
        _stake(op1, op1, 0);
        vm.expectRevert(Staking.ZeroAmount.selector);
        vm.prank(op1);
        staking.unbond(op1, 0);
    }

    function test_stakeMaxUintReverts() public {
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientBalance.selector, op1, 1e6 ether, type(uint256).max)
        );
        _stake(op1, op1, type(uint256).max);
    }

    function test_rewardsGoToTheBatchOperatorsPoolProRata() public {
        _stake(op1, op1, 1000 ether);
        _stake(del, op1, 3000 ether);
        _stake(op2, op2, 2000 ether);
        _reward(op1, 400 ether);
        assertEq(staking.pendingRewards(op1, op1), 100 ether);
        assertEq(staking.pendingRewards(op1, del), 300 ether);
        assertEq(staking.pendingRewards(op2, op2), 0);
        vm.prank(del);
        assertEq(staking.claimRewards(op1), 300 ether);
        assertEq(staking.pendingRewards(op1, del), 0);
        assertEq(token.balanceOf(address(staking)), 6100 ether);
    }

    /// Issue 18, item 8 in Staking: stake arriving while a batch is open earns nothing of it (the old
    /// global accumulator paid it 99 % of the batch's reward), then earns from later batches.
    function test_stakeArrivingWhileABatchIsOpenWarmsUpAndEarnsNothingOfIt() public {
        _stake(op1, op1, 1000 ether);
        uint256 batch = _open(op1);
        assertEq(_stake(late, op1, 99_000 ether), 0);
        (uint256 warming, bool activatable) = staking.warmingOf(op1, late);
        assertEq(warming, 99_000 ether);
        assertFalse(activatable);
        assertEq(staking.totalWarming(), 99_000 ether);
        assertEq(staking.totalStaked(), 1000 ether);
        vm.expectRevert(abi.encodeWithSelector(Staking.NothingToActivate.selector, op1, late));
        staking.activate(op1, late);
        _close(batch, 15_000 ether);
        assertEq(staking.pendingRewards(op1, op1), 15_000 ether);
        assertEq(staking.pendingRewards(op1, late), 0);
        (, activatable) = staking.warmingOf(op1, late);
        assertTrue(activatable);
        vm.expectEmit(address(staking));
        emit Staking.Activated(op1, late, 99_000 ether, 99_000 ether);
        assertEq(staking.activate(op1, late), 99_000 ether); // anyone may activate it
        assertEq(staking.stakeOf(op1, late), 99_000 ether);
        _reward(op1, 100 ether);
        assertEq(staking.pendingRewards(op1, op1), 15_001 ether);
        assertEq(staking.pendingRewards(op1, late), 99 ether);
    }

    function test_warmingWaitsForEveryBatchOpenAtArrivalInAnyClosingOrder() public {
        _stake(op1, op1, 1000 ether);
        uint256 first = _open(op1);
        uint256 second = _open(op1);
        _stake(del, op1, 500 ether);
        uint256 third = _open(op1); // opened after the stake arrived: not waited for
        _close(second, 0);
        (, bool activatable) = staking.warmingOf(op1, del);
        assertFalse(activatable);
        (uint64 opened, uint64 closedThrough, uint256 warming) = staking.batchesOf(op1);
        assertEq(opened, 3);
        assertEq(closedThrough, 0);
        assertEq(warming, 500 ether);
        _close(first, 0);
        (, closedThrough,) = staking.batchesOf(op1);
        assertEq(closedThrough, 2);
        // the member's own action activates it
        vm.prank(del);
        staking.claimRewards(op1);
        assertEq(staking.stakeOf(op1, del), 500 ether);
        _close(third, 300 ether);
        assertEq(staking.pendingRewards(op1, del), 100 ether);
    }

    function test_stakeIntoAPoolWithoutOpenBatchesIsActiveAtOnce() public {
        _stake(op1, op1, 1000 ether);
        _reward(op1, 10 ether);
        assertEq(_stake(del, op1, 1000 ether), 1000 ether);
        _reward(op1, 10 ether);
        assertEq(staking.pendingRewards(op1, op1), 15 ether);
        assertEq(staking.pendingRewards(op1, del), 5 ether);
    }

    function test_unbondThenWithdrawAfterPeriod() public {
        _stake(op1, op1, 2000 ether);
        vm.prank(op1);
        uint256 id = staking.unbond(op1, 500 ether);
        assertEq(staking.stakeOf(op1, op1), 1500 ether);
        assertEq(staking.totalStaked(), 1500 ether);
        assertEq(staking.totalUnbonding(), 500 ether);
        (,, uint64 readyAt, uint256 amount) = staking.unbondingOf(id);
        assertEq(amount, 500 ether);
        vm.expectRevert(abi.encodeWithSelector(Staking.UnbondingNotReady.selector, id, readyAt, block.timestamp));
        vm.prank(op1);
        staking.withdraw(id);
        vm.expectRevert(abi.encodeWithSelector(Staking.NotUnbondingOwner.selector, id, op1, del));
        vm.prank(del);
        staking.withdraw(id);
        vm.warp(readyAt);
        uint256 before = token.balanceOf(op1);
        vm.prank(op1);
        staking.withdraw(id);
        assertEq(token.balanceOf(op1) - before, 500 ether);
        assertEq(staking.totalUnbonding(), 0);
        vm.expectRevert(abi.encodeWithSelector(Staking.UnknownUnbonding.selector, id));
        vm.prank(op1);
        staking.withdraw(id);
    }

    function test_unbondTakesWarmingStakeFirstThenActive() public {
        _stake(op1, op1, 1000 ether);
        _stake(del, op1, 1000 ether);
        _open(op1);
        _stake(del, op1, 300 ether);
        vm.prank(del);
        uint256 id = staking.unbond(op1, 500 ether);
        (,,, uint256 amount) = staking.unbondingOf(id);
        assertEq(amount, 500 ether);
        (uint256 warming,) = staking.warmingOf(op1, del);
        assertEq(warming, 0);
        assertEq(staking.stakeOf(op1, del), 800 ether);
        assertEq(staking.totalWarming(), 0);
        assertEq(staking.totalStaked(), 1800 ether);
        assertEq(staking.totalUnbonding(), 500 ether);
        // everything: the rest of the active stake
        vm.prank(del);
        id = staking.unbond(op1, type(uint256).max);
        (,,, amount) = staking.unbondingOf(id);
        assertEq(amount, 800 ether);
        assertEq(staking.sharesOf(op1, del), 0);
    }

    function test_unbondingStakeEarnsNothing() public {
        _stake(op1, op1, 1000 ether);
        _stake(del, op1, 1000 ether);
        vm.prank(del);
        staking.unbond(op1, type(uint256).max);
        _reward(op1, 100 ether);
        assertEq(staking.pendingRewards(op1, op1), 100 ether);
        assertEq(staking.pendingRewards(op1, del), 0);
    }

    function test_unbondWithoutStakeReverts() public {
        _stake(op1, op1, 1000 ether);
        vm.expectRevert(abi.encodeWithSelector(Staking.NothingToUnbond.selector, op1, del));
        vm.prank(del);
        staking.unbond(op1, 1 ether);
    }

    /// The operator cannot dodge a batch's slash by unbonding: its active self-stake is held while its
    /// pool has an open batch. Delegators and warming stake may leave.
    function test_operatorSelfStakeIsHeldWhileItsPoolHasAnOpenBatch() public {
        _stake(op1, op1, 2000 ether);
        _stake(del, op1, 1000 ether);
        uint256 batch = _open(op1);
        _stake(op1, op1, 100 ether); // warming
        vm.prank(op1);
        staking.unbond(op1, 100 ether); // the warming part may leave
        vm.expectRevert(abi.encodeWithSelector(Staking.SelfStakeLocked.selector, op1));
        vm.prank(op1);
        staking.unbond(op1, 1 ether);
        vm.prank(del);
        staking.unbond(op1, 1000 ether);
        _close(batch, 0);
        vm.prank(op1);
        staking.unbond(op1, 1000 ether);
        assertEq(staking.stakeOf(op1, op1), 1000 ether);
    }

    /// Issue 18, item 9 in Staking: a batch's slash cuts the active stake (bonded when it was opened) in
    /// proportion, and neither stake that unbonded before the fault nor stake that arrived after it.
    function test_slashCutsOnlyStakeBondedAtTheFault() public {
        _stake(op1, op1, 1000 ether);
        _stake(del, op1, 4000 ether);
        vm.prank(del);
        uint256 id = staking.unbond(op1, 1000 ether); // before the fault
        uint256 batch = _open(op1); // the fault
        _stake(late, op1, 5000 ether); // after the fault: warming
        vm.prank(slasher);
        vm.expectEmit(address(staking));
        emit Staking.Slashed(op1, slasher, sink, 1000 ether);
        assertEq(staking.slashBatch(batch, 1000 ether, sink), 1000 ether);
        assertEq(token.balanceOf(sink), 1000 ether);
        assertEq(staking.stakeOf(op1, op1), 750 ether);
        assertEq(staking.stakeOf(op1, del), 2250 ether);
        (,,, uint256 unbonding) = staking.unbondingOf(id);
        assertEq(unbonding, 1000 ether);
        (uint256 warming, bool activatable) = staking.warmingOf(op1, late);
        assertEq(warming, 5000 ether);
        assertTrue(activatable); // the slash closed the batch
        assertEq(staking.totalStaked(), 3000 ether);
        assertEq(staking.totalUnbonding(), 1000 ether);
        assertFalse(staking.isOperator(op1));
    }

    function test_slashCappedAtActiveStakeAndWipedPoolRefusesStake() public {
        _stake(op1, op1, 1000 ether);
        uint256 batch = _open(op1);
        _stake(del, op1, 500 ether); // warming: not bonded, not cut
        vm.prank(slasher);
        assertEq(staking.slashBatch(batch, type(uint256).max, sink), 1000 ether);
        assertEq(staking.totalStaked(), 0);
        vm.expectRevert(abi.encodeWithSelector(Staking.PoolWiped.selector, op1));
        _stake(op1, op1, 1000 ether);
        vm.recordLogs();
        vm.prank(slasher);
        assertEq(staking.slash(op1, 1, sink), 0);
        assertEq(vm.getRecordedLogs().length, 0); // no Slashed event, no transfer
        // warming stake cannot join a wiped pool but can leave
        vm.expectRevert(abi.encodeWithSelector(Staking.NothingToActivate.selector, op1, del));
        staking.activate(op1, del);
        vm.prank(del);
        uint256 id = staking.unbond(op1, type(uint256).max);
        (,,, uint256 amount) = staking.unbondingOf(id);
        assertEq(amount, 500 ether);
    }

    function test_batchHooksAreSlasherOnlyAndEachBatchClosesOnce() public {
        _stake(op1, op1, 1000 ether);
        bytes32 role = staking.SLASHER_ROLE();
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, op2, role));
        vm.prank(op2);
        staking.openBatch(op1, 1);
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, op2, role));
        vm.prank(op2);
        staking.closeBatch(1, 0);
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, op2, role));
        vm.prank(op2);
        staking.slashBatch(1, 1, op2);
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, op2, role));
        vm.prank(op2);
        staking.slash(op1, 1, op2);
        vm.startPrank(slasher);
        vm.expectRevert(abi.encodeWithSelector(Staking.UnknownOperator.selector, op2));
        staking.openBatch(op2, 1);
        staking.openBatch(op1, 1);
        vm.expectRevert(abi.encodeWithSelector(Staking.BatchAlreadyOpened.selector, 1));
        staking.openBatch(op1, 1);
        vm.expectRevert(abi.encodeWithSelector(Staking.UnknownBatch.selector, 2));
        staking.closeBatch(2, 0);
        staking.closeBatch(1, 0);
        vm.expectRevert(abi.encodeWithSelector(Staking.UnknownBatch.selector, 1));
        staking.closeBatch(1, 0);
        vm.expectRevert(abi.encodeWithSelector(Staking.UnknownBatch.selector, 1));
        staking.slashBatch(1, 1, sink);
        vm.stopPrank();
    }

    function test_onlyAdminSetsParameters() public {
        bytes32 role = staking.DEFAULT_ADMIN_ROLE();
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, op1, role));
        vm.prank(op1);
        staking.setMinOperatorStake(0);
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, op1, role));
        vm.prank(op1);
        staking.setUnbondingPeriod(0);
        vm.startPrank(admin);
        staking.setMinOperatorStake(5 ether);
        staking.setUnbondingPeriod(1 days);
        vm.stopPrank();
        assertEq(staking.minOperatorStake(), 5 ether);
        assertEq(staking.unbondingPeriod(), 1 days);
    }

    function testFuzz_rewardsNeverExceedWhatWasPaid(uint96 a, uint96 b, uint96 c, uint96 r1, uint96 r2) public {
        uint256 sa = bound(a, 1, 1e6 ether);
        uint256 sb = bound(b, 1, 1e6 ether);
        uint256 sc = bound(c, 1, 1e6 ether);
        uint256 rewardA = bound(r1, 1, 1e5 ether);
        uint256 rewardB = bound(r2, 1, 1e5 ether);
        _stake(op1, op1, sa);
        _stake(del, op1, sb);
        _reward(op1, rewardA);
        _stake(late, op1, sc);
        _reward(op1, rewardB);
        uint256 owed =
            staking.pendingRewards(op1, op1) + staking.pendingRewards(op1, del) + staking.pendingRewards(op1, late);
        assertLe(owed, rewardA + rewardB);
        // floors lose at most a few wei per member and reward
        assertGe(owed + 10, rewardA + rewardB);
    }
}

/// @notice Random stakes, activations, unbonds, withdrawals, batches opened and closed (rewarded or
/// slashed) and claims, with a snapshot of every member's stake when each batch was opened.
contract StakingHandler is Test {
    OpenToken public token;
    Staking public staking;
    address[] public operators;
    address[] public stakers;
    uint256[] public unbondingIds;
    uint256 public rewarded;
    uint256 public claimed;
    uint256 public slashedTotal;
    uint256 public staked;
    uint256 public withdrawn;
    /// @notice Times a member with no stake when a batch was opened gained from its reward or lost to its
    /// slash, or an unbonding entry changed: must stay 0.
    uint256 public violations;
    uint256 internal _nextBatch = 1;
    uint256[] internal _open;
    mapping(uint256 batchId => address) internal _operatorOf;
    mapping(uint256 batchId => mapping(address account => bool)) internal _bondedAtOpen;

    constructor(OpenToken token_, Staking staking_) {
        token = token_;
        staking = staking_;
        for (uint256 i = 0; i < 3; i++) {
            operators.push(address(uint160(0x0900 + i)));
        }
        for (uint256 i = 0; i < 6; i++) {
            stakers.push(i < 3 ? operators[i] : address(uint160(0x0A00 + i)));
        }
    }

    function stakerCount() external view returns (uint256) {
        return stakers.length;
    }

    function operatorCount() external view returns (uint256) {
        return operators.length;
    }

    function _fund(address who, uint256 amount) internal {
        deal(address(token), who, token.balanceOf(who) + amount, true);
        vm.prank(who);
        token.approve(address(staking), type(uint256).max);
    }

    function _held(address op, address who) internal view returns (uint256) {
        (uint256 warming,) = staking.warmingOf(op, who);
        return staking.stakeOf(op, who) + warming;
    }

    function stake(uint256 whoSeed, uint256 opSeed, uint256 amount) external {
        address who = stakers[whoSeed % stakers.length];
        address op = operators[opSeed % operators.length];
        amount = bound(amount, 1, 1e24);
        (bool registered, uint256 poolStake, uint256 shares,) = staking.poolOf(op);
        if (who != op && !registered) return;
        if (shares > 0 && poolStake == 0) return;
        _fund(who, amount);
        vm.prank(who);
        staking.stake(op, amount);
        staked += amount;
    }

    function activate(uint256 whoSeed, uint256 opSeed) external {
        try staking.activate(operators[opSeed % operators.length], stakers[whoSeed % stakers.length]) {} catch {}
    }

    function unbond(uint256 whoSeed, uint256 opSeed, uint256 amount) external {
        address who = stakers[whoSeed % stakers.length];
        address op = operators[opSeed % operators.length];
        uint256 value = _held(op, who);
        if (value == 0) return;
        amount = bound(amount, 1, value);
        vm.prank(who);
        try staking.unbond(op, amount) returns (uint256 id) {
            unbondingIds.push(id);
        } catch {}
    }

    function withdraw(uint256 seed) external {
        if (unbondingIds.length == 0) return;
        uint256 i = seed % unbondingIds.length;
        uint256 id = unbondingIds[i];
        (address account,, uint64 readyAt,) = staking.unbondingOf(id);
        vm.warp(readyAt > block.timestamp ? readyAt : block.timestamp);
        vm.prank(account);
        withdrawn += staking.withdraw(id);
        unbondingIds[i] = unbondingIds[unbondingIds.length - 1];
        unbondingIds.pop();
    }

    function open(uint256 opSeed) external {
        address op = operators[opSeed % operators.length];
        (bool registered,,,) = staking.poolOf(op);
        if (!registered) return;
        uint256 id = _nextBatch++;
        staking.openBatch(op, id);
        _open.push(id);
        _operatorOf[id] = op;
        for (uint256 j = 0; j < stakers.length; j++) {
            _bondedAtOpen[id][stakers[j]] = _held(op, stakers[j]) > 0;
        }
    }

    function close(uint256 seed, uint256 amount, bool slashIt) external {
        if (_open.length == 0) return;
        uint256 i = seed % _open.length;
        uint256 id = _open[i];
        _open[i] = _open[_open.length - 1];
        _open.pop();
        address op = _operatorOf[id];
        uint256[] memory before = new uint256[](stakers.length);
        for (uint256 j = 0; j < stakers.length; j++) {
            before[j] = slashIt ? _held(op, stakers[j]) : staking.pendingRewards(op, stakers[j]);
        }
        uint256 unbondingBefore = _unbondingSum();
        if (slashIt) {
            slashedTotal += staking.slashBatch(id, bound(amount, 0, 1e23), address(this));
        } else {
            amount = bound(amount, 0, 1e22);
            _fund(address(this), amount);
            staking.closeBatch(id, amount);
            rewarded += amount;
        }
        for (uint256 j = 0; j < stakers.length; j++) {
            uint256 nowValue = slashIt ? _held(op, stakers[j]) : staking.pendingRewards(op, stakers[j]);
            bool changed = nowValue != before[j];
            if (changed && !_bondedAtOpen[id][stakers[j]]) violations++;
        }
        if (_unbondingSum() != unbondingBefore) violations++;
    }

    function _unbondingSum() internal view returns (uint256 sum) {
        for (uint256 k = 0; k < unbondingIds.length; k++) {
            (,,, uint256 amount) = staking.unbondingOf(unbondingIds[k]);
            sum += amount;
        }
    }

    function claim(uint256 whoSeed, uint256 opSeed) external {
        address who = stakers[whoSeed % stakers.length];
        vm.prank(who);
        claimed += staking.claimRewards(operators[opSeed % operators.length]);
    }
}

contract StakingInvariantTest is Test {
    OpenToken token;
    Staking staking;
    StakingHandler handler;

    function setUp() public {
        address admin = makeAddr("admin");
        token = new OpenToken(admin, admin, 0);
        staking = new Staking(admin, token, 1 ether, 1 days);
        handler = new StakingHandler(token, staking);
        bytes32 role = staking.SLASHER_ROLE();
        vm.prank(admin);
        staking.grantRole(role, address(handler));
        targetContract(address(handler));
    }

    /// forge-config: default.invariant.fail-on-revert = true
    function invariant_poolsSumToTotals() public view {
        uint256 active;
        uint256 warming;
        uint256 unbonding;
        for (uint256 i = 0; i < handler.operatorCount(); i++) {
            address op = handler.operators(i);
            (, uint256 poolStake, uint256 shares, uint256 poolUnbonding) = staking.poolOf(op);
            (,, uint256 poolWarming) = staking.batchesOf(op);
            active += poolStake;
            warming += poolWarming;
            unbonding += poolUnbonding;
            uint256 memberShares;
            uint256 memberValue;
            uint256 memberWarming;
            for (uint256 j = 0; j < handler.stakerCount(); j++) {
                memberShares += staking.sharesOf(op, handler.stakers(j));
                memberValue += staking.stakeOf(op, handler.stakers(j));
                (uint256 w,) = staking.warmingOf(op, handler.stakers(j));
                memberWarming += w;
            }
            assertEq(memberShares, shares);
            assertLe(memberValue, poolStake);
            assertLe(poolStake, shares); // so every stake buys at least as many shares as tokens
            assertEq(memberWarming, poolWarming);
        }
        assertEq(active, staking.totalStaked());
        assertEq(warming, staking.totalWarming());
        assertEq(unbonding, staking.totalUnbonding());
    }

    /// Rewards reach only stake bonded when the batch was opened; slashes cut only such stake and never
    /// an unbonding entry.
    function invariant_rewardsAndSlashesReachOnlyStakeBondedAtTheBatch() public view {
        assertEq(handler.violations(), 0);
    }

    /// Value to the wei: the contract holds every stake, and rewards owed and paid never exceed rewards paid in.
    function invariant_rewardsAndStakeAreBacked() public view {
        uint256 owed;
        for (uint256 i = 0; i < handler.operatorCount(); i++) {
            for (uint256 j = 0; j < handler.stakerCount(); j++) {
                owed += staking.pendingRewards(handler.operators(i), handler.stakers(j));
            }
        }
        assertLe(owed + handler.claimed(), handler.rewarded());
        assertGe(
            token.balanceOf(address(staking)),
            staking.totalStaked() + staking.totalWarming() + staking.totalUnbonding() + owed
        );
        // what came in (stakes and rewards) less what went out (withdrawals, claims, slashes) is what it holds
        assertEq(token.balanceOf(address(staking)) + handler.claimed() + handler.slashedTotal(), _inMinusWithdrawn());
    }

    function _inMinusWithdrawn() internal view returns (uint256) {
        return handler.staked() + handler.rewarded() - handler.withdrawn();
    }
}
