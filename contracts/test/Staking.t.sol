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
    address payer = makeAddr("payer");
    address sink = makeAddr("sink");

    function setUp() public {
        token = new OpenToken(admin, address(this), 1e9 ether);
        staking = new Staking(admin, token, 1000 ether, 7 days);
        bytes32 role = staking.SLASHER_ROLE();
        vm.prank(admin);
        staking.grantRole(role, slasher);
        address[5] memory who = [op1, op2, del, payer, slasher];
        for (uint256 i = 0; i < who.length; i++) {
            token.transfer(who[i], 1e6 ether);
            vm.prank(who[i]);
            token.approve(address(staking), type(uint256).max);
        }
    }

    function _stake(address who, address op, uint256 amount) internal {
        vm.prank(who);
        staking.stake(op, amount);
    }

    function _reward(uint256 amount) internal {
        vm.prank(payer);
        staking.notifyReward(amount);
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
        vm.expectRevert(Staking.ZeroAmount.selector);
        _reward(0);
    }

    function test_stakeMaxUintReverts() public {
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientBalance.selector, op1, 1e6 ether, type(uint256).max)
        );
        _stake(op1, op1, type(uint256).max);
    }

    function test_rewardsProRataAcrossPools() public {
        _stake(op1, op1, 1000 ether);
        _stake(del, op1, 1000 ether);
        _stake(op2, op2, 2000 ether);
        _reward(400 ether);
        assertEq(staking.pendingRewards(op1, op1), 100 ether);
        assertEq(staking.pendingRewards(op1, del), 100 ether);
        assertEq(staking.pendingRewards(op2, op2), 200 ether);
        vm.prank(del);
        assertEq(staking.claimRewards(op1), 100 ether);
        assertEq(staking.pendingRewards(op1, del), 0);
        vm.prank(op2);
        assertEq(staking.claimRewards(op2), 200 ether);
    }

    function test_rewardsWithNoStakeAreCarried() public {
        _reward(90 ether);
        _stake(op1, op1, 1000 ether);
        _reward(10 ether);
        assertEq(staking.pendingRewards(op1, op1), 100 ether);
    }

    function test_lateStakerEarnsOnlyLaterRewards() public {
        _stake(op1, op1, 1000 ether);
        _reward(100 ether);
        _stake(del, op1, 1000 ether);
        _reward(100 ether);
        assertEq(staking.pendingRewards(op1, op1), 150 ether);
        assertEq(staking.pendingRewards(op1, del), 50 ether);
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
        vm.expectRevert(abi.encodeWithSelector(Staking.UnknownUnbonding.selector, id));
        vm.prank(op1);
        staking.withdraw(id);
    }

    function test_unbondingStakeEarnsNothing() public {
        _stake(op1, op1, 1000 ether);
        _stake(op2, op2, 1000 ether);
        vm.prank(op2);
        staking.unbond(op2, type(uint256).max);
        _reward(100 ether);
        assertEq(staking.pendingRewards(op1, op1), 100 ether);
        assertEq(staking.pendingRewards(op2, op2), 0);
        assertFalse(staking.isOperator(op2));
    }

    function test_unbondWithoutStakeReverts() public {
        _stake(op1, op1, 1000 ether);
        vm.expectRevert(abi.encodeWithSelector(Staking.NothingToUnbond.selector, op1, del));
        vm.prank(del);
        staking.unbond(op1, 1 ether);
    }

    function test_slashIsProportionalIncludingUnbonding() public {
        _stake(op1, op1, 1000 ether);
        _stake(del, op1, 3000 ether);
        vm.prank(del);
        uint256 id = staking.unbond(op1, 1000 ether);
        // pool: 3000 active (1000 op, 2000 del) + 1000 unbonding; slash 25%
        vm.prank(slasher);
        uint256 slashed = staking.slash(op1, 1000 ether, sink);
        assertEq(slashed, 1000 ether);
        assertEq(token.balanceOf(sink), 1000 ether);
        assertEq(staking.stakeOf(op1, op1), 750 ether);
        assertEq(staking.stakeOf(op1, del), 1500 ether);
        (,,, uint256 unbonding) = staking.unbondingOf(id);
        assertEq(unbonding, 750 ether);
        assertEq(staking.totalStaked(), 2250 ether);
        assertEq(staking.totalUnbonding(), 750 ether);
        assertFalse(staking.isOperator(op1));
    }

    function test_slashCappedAtPoolAndWipedPoolRefusesStake() public {
        _stake(op1, op1, 1000 ether);
        vm.prank(slasher);
        assertEq(staking.slash(op1, type(uint256).max, sink), 1000 ether);
        assertEq(staking.totalStaked(), 0);
        vm.expectRevert(abi.encodeWithSelector(Staking.PoolWiped.selector, op1));
        _stake(op1, op1, 1000 ether);
        vm.prank(slasher);
        assertEq(staking.slash(op1, 1, sink), 0);
    }

    function test_onlySlasherSlashes() public {
        _stake(op1, op1, 1000 ether);
        bytes32 role = staking.SLASHER_ROLE();
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, op2, role));
        vm.prank(op2);
        staking.slash(op1, 1, op2);
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

    function testFuzz_rewardsNeverExceedNotified(uint96 a, uint96 b, uint96 c, uint96 r1, uint96 r2) public {
        uint256 sa = bound(a, 1, 1e6 ether);
        uint256 sb = bound(b, 1, 1e6 ether);
        uint256 sc = bound(c, 1, 1e6 ether);
        uint256 rewardA = bound(r1, 1, 1e5 ether);
        uint256 rewardB = bound(r2, 1, 1e5 ether);
        _stake(op1, op1, sa);
        _stake(del, op1, sb);
        _reward(rewardA);
        _stake(op2, op2, sc);
        _reward(rewardB);
        uint256 owed =
            staking.pendingRewards(op1, op1) + staking.pendingRewards(op1, del) + staking.pendingRewards(op2, op2);
        assertLe(owed, rewardA + rewardB);
        // floors lose at most a few wei per member and notification
        assertGe(owed + 10, rewardA + rewardB);
    }
}

contract StakingHandler is Test {
    OpenToken public token;
    Staking public staking;
    address public slasher;
    address[] public operators;
    address[] public stakers;
    uint256[] public unbondingIds;
    uint256 public notified;
    uint256 public claimed;

    constructor(OpenToken token_, Staking staking_, address slasher_) {
        token = token_;
        staking = staking_;
        slasher = slasher_;
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

    function stake(uint256 whoSeed, uint256 opSeed, uint256 amount) external {
        address who = stakers[whoSeed % stakers.length];
        address op = operators[opSeed % operators.length];
        amount = bound(amount, 1, 1e24);
        (bool registered, uint256 poolStake, uint256 shares,) = staking.poolOf(op);
        if (who != op && !registered) return;
        if (shares > 0 && (poolStake == 0 || (amount * shares) / poolStake == 0)) return;
        _fund(who, amount);
        vm.prank(who);
        staking.stake(op, amount);
    }

    function unbond(uint256 whoSeed, uint256 opSeed, uint256 amount) external {
        address who = stakers[whoSeed % stakers.length];
        address op = operators[opSeed % operators.length];
        uint256 value = staking.stakeOf(op, who);
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
        staking.withdraw(id);
        unbondingIds[i] = unbondingIds[unbondingIds.length - 1];
        unbondingIds.pop();
    }

    function reward(uint256 amount) external {
        amount = bound(amount, 1, 1e22);
        _fund(address(this), amount);
        staking.notifyReward(amount);
        notified += amount;
    }

    function claim(uint256 whoSeed, uint256 opSeed) external {
        address who = stakers[whoSeed % stakers.length];
        vm.prank(who);
        claimed += staking.claimRewards(operators[opSeed % operators.length]);
    }

    function slash(uint256 opSeed, uint256 amount) external {
        amount = bound(amount, 0, 1e23);
        vm.prank(slasher);
        staking.slash(operators[opSeed % operators.length], amount, slasher);
    }
}

contract StakingInvariantTest is Test {
    OpenToken token;
    Staking staking;
    StakingHandler handler;

    function setUp() public {
        address admin = makeAddr("admin");
        address slasher = makeAddr("slasher");
        token = new OpenToken(admin, admin, 0);
        staking = new Staking(admin, token, 1 ether, 1 days);
        handler = new StakingHandler(token, staking, slasher);
        bytes32 role = staking.SLASHER_ROLE();
        vm.prank(admin);
        staking.grantRole(role, slasher);
        targetContract(address(handler));
    }

    /// forge-config: default.invariant.fail-on-revert = true
    function invariant_poolsSumToTotals() public view {
        uint256 active;
        uint256 unbonding;
        for (uint256 i = 0; i < handler.operatorCount(); i++) {
            (, uint256 poolStake, uint256 shares, uint256 poolUnbonding) = staking.poolOf(handler.operators(i));
            active += poolStake;
            unbonding += poolUnbonding;
            uint256 memberShares;
            uint256 memberValue;
            for (uint256 j = 0; j < handler.stakerCount(); j++) {
                memberShares += staking.sharesOf(handler.operators(i), handler.stakers(j));
                memberValue += staking.stakeOf(handler.operators(i), handler.stakers(j));
            }
            assertEq(memberShares, shares);
            assertLe(memberValue, poolStake);
        }
        assertEq(active, staking.totalStaked());
        assertEq(unbonding, staking.totalUnbonding());
    }

    function invariant_rewardsAndStakeAreBacked() public view {
        uint256 owed;
        for (uint256 i = 0; i < handler.operatorCount(); i++) {
            for (uint256 j = 0; j < handler.stakerCount(); j++) {
                owed += staking.pendingRewards(handler.operators(i), handler.stakers(j));
            }
        }
        assertLe(owed + handler.claimed(), handler.notified());
        assertGe(token.balanceOf(address(staking)), staking.totalStaked() + staking.totalUnbonding() + owed);
    }
}
