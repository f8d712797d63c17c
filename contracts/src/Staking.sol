// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IStaking} from "./interfaces/IStaking.sol";

/// @title Operator staking, delegation, rewards and slashing in $OPEN
/// @notice Each operator has a pool: the operator's self-stake and its delegators' stake, held as pool
/// shares. Rewards (the stakers' share of inference fees) are spread pro rata over all active stake
/// of all pools by a global reward-per-stake accumulator, then inside a pool pro rata over its shares.
/// Unbonding stake leaves the reward stream at once but stays slashable until withdrawn, so an
/// operator cannot escape a challenge by unbonding. A slash cuts a pool's active and unbonding stake
/// proportionally, so self-stake and delegators lose the same fraction.
/// Rounding: reward remainders are carried (scaled) to the next distribution; what is below one wei
/// per member at claim time stays in this contract.
contract Staking is IStaking, AccessControl {
    using SafeERC20 for IERC20;

    /// @notice Role allowed to slash (InferenceSettlement, and registries that enforce behaviour).
    bytes32 public constant SLASHER_ROLE = keccak256("SLASHER_ROLE");
    uint256 private constant PRECISION = 1e27;

    struct Pool {
        bool registered;
        uint256 stake; // active tokens (earn rewards)
        uint256 shares; // active shares
        uint256 unbonding; // tokens waiting out the unbonding period (slashable)
        uint256 unbondingShares;
        uint256 globalDebt; // accRewardPerStake when the pool last synced
        uint256 accRewardPerShare; // scaled by PRECISION
        uint256 rewardCarry; // scaled remainder not yet spread over shares
    }

    struct Member {
        uint256 shares;
        uint256 rewardDebt; // pool.accRewardPerShare at the last sync
        uint256 unclaimed; // rewards in wei
    }

    struct Unbonding {
        address account;
        address operator;
        uint64 readyAt;
        uint256 shares; // unbonding shares of the operator's pool
    }

    /// @notice The staked token ($OPEN or WOPEN).
    IERC20 public immutable token;
    /// @notice The self-stake an operator needs to be an active operator.
    uint256 public minOperatorStake;
    /// @notice Seconds between an unbond request and its withdrawal.
    uint64 public unbondingPeriod;
    /// @notice Sum of all pools' active stake.
    uint256 public totalStaked;
    /// @notice Sum of all pools' unbonding stake.
    uint256 public totalUnbonding;
    /// @notice Rewards per unit of active stake, scaled by 1e27.
    uint256 public accRewardPerStake;
    uint256 private _rewardCarry; // scaled remainder of notified rewards
    uint256 private _nextUnbondingId = 1;

    mapping(address operator => Pool) private _pools;
    mapping(address operator => mapping(address account => Member)) private _members;
    mapping(uint256 unbondingId => Unbonding) private _unbondings;

    /// @notice `operator` registered by staking to itself for the first time.
    event OperatorRegistered(address indexed operator);
    /// @notice `account` staked `amount` to `operator`'s pool and received `shares`.
    event Staked(address indexed operator, address indexed account, uint256 amount, uint256 shares);
    /// @notice `account` started unbonding `amount` from `operator`'s pool.
    event UnbondingStarted(
        uint256 indexed unbondingId, address indexed operator, address indexed account, uint256 amount, uint64 readyAt
    );
    /// @notice An unbonding entry was withdrawn.
    event Withdrawn(uint256 indexed unbondingId, address indexed account, uint256 amount);
    /// @notice Rewards were notified; `amount` wei entered the accumulator.
    event RewardNotified(address indexed from, uint256 amount, uint256 accRewardPerStake);
    /// @notice `account` claimed `amount` rewards earned in `operator`'s pool.
    event RewardsClaimed(address indexed operator, address indexed account, uint256 amount);
    /// @notice `operator`'s pool was slashed.
    event Slashed(
        address indexed operator,
        address indexed slasher,
        address recipient,
        uint256 amount,
        uint256 fromStake,
        uint256 fromUnbonding
    );
    /// @notice The minimum operator self-stake changed.
    event MinOperatorStakeSet(uint256 minOperatorStake);
    /// @notice The unbonding period changed.
    event UnbondingPeriodSet(uint64 unbondingPeriod);

    /// @notice Amount must be positive.
    error ZeroAmount();
    /// @notice `operator` has never self-staked.
    error UnknownOperator(address operator);
    /// @notice `operator`'s pool was slashed to zero and takes no new stake.
    error PoolWiped(address operator);
    /// @notice The stake is too small to buy one pool share.
    error StakeTooSmall(uint256 amount);
    /// @notice `account` has no active stake in `operator`'s pool to unbond.
    error NothingToUnbond(address operator, address account);
    /// @notice No unbonding entry with this id (or already withdrawn).
    error UnknownUnbonding(uint256 unbondingId);
    /// @notice The unbonding entry belongs to `owner`.
    error NotUnbondingOwner(uint256 unbondingId, address owner, address caller);
    /// @notice The unbonding entry is ready at `readyAt`.
    error UnbondingNotReady(uint256 unbondingId, uint64 readyAt, uint256 timestamp);

    /// @param admin Holder of DEFAULT_ADMIN_ROLE (parameters; grants SLASHER_ROLE).
    /// @param token_ The staked and reward token.
    /// @param minOperatorStake_ Minimum operator self-stake in wei.
    /// @param unbondingPeriod_ Unbonding period in seconds.
    constructor(address admin, IERC20 token_, uint256 minOperatorStake_, uint64 unbondingPeriod_) {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        token = token_;
        minOperatorStake = minOperatorStake_;
        unbondingPeriod = unbondingPeriod_;
        emit MinOperatorStakeSet(minOperatorStake_);
        emit UnbondingPeriodSet(unbondingPeriod_);
    }

    // ---------------------------------------------------------------- staking

    /// @notice Stakes `amount` to `operator`'s pool. Staking to yourself registers you as an operator;
    /// staking to someone else delegates to a registered operator. Pulls tokens (approve first).
    /// @param operator The pool to stake into.
    /// @param amount Amount in wei.
    /// @return shares Pool shares received.
    function stake(address operator, uint256 amount) external returns (uint256 shares) {
        if (amount == 0) revert ZeroAmount();
        Pool storage pool = _pools[operator];
        if (operator == msg.sender) {
            if (!pool.registered) {
                pool.registered = true;
                emit OperatorRegistered(operator);
            }
        } else if (!pool.registered) {
            revert UnknownOperator(operator);
        }
        if (pool.shares > 0 && pool.stake == 0) revert PoolWiped(operator);
        _syncPool(pool);
        Member storage member = _syncMember(pool, _members[operator][msg.sender]);

        shares = pool.shares == 0 ? amount : (amount * pool.shares) / pool.stake;
        if (shares == 0) revert StakeTooSmall(amount);
        pool.stake += amount;
        pool.shares += shares;
        member.shares += shares;
        totalStaked += amount;
        emit Staked(operator, msg.sender, amount, shares);
        token.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @notice Moves up to `amount` of the caller's active stake in `operator`'s pool into unbonding.
    /// An amount at or above the caller's stake unbonds everything. Rewards stop at once; the tokens
    /// stay slashable until withdrawn after the unbonding period.
    /// @param operator The pool.
    /// @param amount Amount in wei (use type(uint256).max for all).
    /// @return unbondingId Id to pass to {withdraw}.
    function unbond(address operator, uint256 amount) external returns (uint256 unbondingId) {
        if (amount == 0) revert ZeroAmount();
        Pool storage pool = _pools[operator];
        _syncPool(pool);
        Member storage member = _syncMember(pool, _members[operator][msg.sender]);
        uint256 value = _shareValue(pool, member.shares);
        if (value == 0) revert NothingToUnbond(operator, msg.sender);

        uint256 burned = amount >= value ? member.shares : _ceilDiv(amount * pool.shares, pool.stake);
        if (burned > member.shares) burned = member.shares;
        uint256 tokens = burned == pool.shares ? pool.stake : (burned * pool.stake) / pool.shares;
        if (tokens == 0) revert NothingToUnbond(operator, msg.sender);
        member.shares -= burned;
        pool.shares -= burned;
        pool.stake -= tokens;
        totalStaked -= tokens;

        uint256 unbondingShares =
            pool.unbondingShares == 0 ? tokens : (tokens * pool.unbondingShares) / pool.unbonding;
        if (unbondingShares == 0) revert StakeTooSmall(tokens);
        pool.unbonding += tokens;
        pool.unbondingShares += unbondingShares;
        totalUnbonding += tokens;

        unbondingId = _nextUnbondingId++;
        uint64 readyAt = uint64(block.timestamp) + unbondingPeriod;
        _unbondings[unbondingId] = Unbonding(msg.sender, operator, readyAt, unbondingShares);
        emit UnbondingStarted(unbondingId, operator, msg.sender, tokens, readyAt);
    }

    /// @notice Withdraws an unbonding entry after its unbonding period (less any slashes meanwhile).
    /// @param unbondingId The id returned by {unbond}.
    /// @return amount Tokens sent to the caller.
    function withdraw(uint256 unbondingId) external returns (uint256 amount) {
        Unbonding memory entry = _unbondings[unbondingId];
        if (entry.shares == 0) revert UnknownUnbonding(unbondingId);
        if (entry.account != msg.sender) revert NotUnbondingOwner(unbondingId, entry.account, msg.sender);
        if (block.timestamp < entry.readyAt) revert UnbondingNotReady(unbondingId, entry.readyAt, block.timestamp);
        Pool storage pool = _pools[entry.operator];
        amount = entry.shares == pool.unbondingShares
            ? pool.unbonding
            : (entry.shares * pool.unbonding) / pool.unbondingShares;
        pool.unbondingShares -= entry.shares;
        pool.unbonding -= amount;
        totalUnbonding -= amount;
        delete _unbondings[unbondingId];
        emit Withdrawn(unbondingId, msg.sender, amount);
        if (amount > 0) token.safeTransfer(msg.sender, amount);
    }

    // ---------------------------------------------------------------- rewards

    /// @inheritdoc IStaking
    /// @dev With no active stake the amount is carried to the next notification.
    function notifyReward(uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        token.safeTransferFrom(msg.sender, address(this), amount);
        uint256 scaled = amount * PRECISION + _rewardCarry;
        if (totalStaked == 0) {
            _rewardCarry = scaled;
        } else {
            accRewardPerStake += scaled / totalStaked;
            _rewardCarry = scaled % totalStaked;
        }
        emit RewardNotified(msg.sender, amount, accRewardPerStake);
    }

    /// @notice Claims the caller's rewards earned in `operator`'s pool.
    /// @param operator The pool.
    /// @return amount Tokens sent to the caller.
    function claimRewards(address operator) external returns (uint256 amount) {
        Pool storage pool = _pools[operator];
        _syncPool(pool);
        Member storage member = _syncMember(pool, _members[operator][msg.sender]);
        amount = member.unclaimed;
        member.unclaimed = 0;
        emit RewardsClaimed(operator, msg.sender, amount);
        if (amount > 0) token.safeTransfer(msg.sender, amount);
    }

    // ---------------------------------------------------------------- slashing

    /// @inheritdoc IStaking
    function slash(address operator, uint256 amount, address recipient)
        external
        onlyRole(SLASHER_ROLE)
        returns (uint256 slashed)
    {
        Pool storage pool = _pools[operator];
        _syncPool(pool);
        uint256 total = pool.stake + pool.unbonding;
        slashed = amount > total ? total : amount;
        if (slashed == 0) return 0;
        uint256 fromUnbonding = (slashed * pool.unbonding) / total;
        uint256 fromStake = slashed - fromUnbonding;
        pool.unbonding -= fromUnbonding;
        pool.stake -= fromStake;
        totalUnbonding -= fromUnbonding;
        totalStaked -= fromStake;
        emit Slashed(operator, msg.sender, recipient, slashed, fromStake, fromUnbonding);
        token.safeTransfer(recipient, slashed);
    }

    // ---------------------------------------------------------------- parameters

    /// @notice Sets the minimum operator self-stake. Only DEFAULT_ADMIN_ROLE.
    /// @param minOperatorStake_ Amount in wei.
    function setMinOperatorStake(uint256 minOperatorStake_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        minOperatorStake = minOperatorStake_;
        emit MinOperatorStakeSet(minOperatorStake_);
    }

    /// @notice Sets the unbonding period for new unbond requests. Only DEFAULT_ADMIN_ROLE.
    /// @param unbondingPeriod_ Seconds.
    function setUnbondingPeriod(uint64 unbondingPeriod_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        unbondingPeriod = unbondingPeriod_;
        emit UnbondingPeriodSet(unbondingPeriod_);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IStaking
    function isOperator(address operator) external view returns (bool) {
        Pool storage pool = _pools[operator];
        uint256 selfStake = _shareValue(pool, _members[operator][operator].shares);
        return pool.registered && selfStake > 0 && selfStake >= minOperatorStake;
    }

    /// @notice The active stake of `account` in `operator`'s pool.
    /// @param operator The pool.
    /// @param account The staker (the operator itself for self-stake).
    /// @return Amount in wei.
    function stakeOf(address operator, address account) external view returns (uint256) {
        return _shareValue(_pools[operator], _members[operator][account].shares);
    }

    /// @notice The pool shares `account` holds in `operator`'s pool.
    /// @param operator The pool.
    /// @param account The staker.
    /// @return Active shares.
    function sharesOf(address operator, address account) external view returns (uint256) {
        return _members[operator][account].shares;
    }

    /// @notice A pool's totals.
    /// @param operator The pool.
    /// @return registered Whether the operator ever self-staked.
    /// @return activeStake Active tokens.
    /// @return shares Active shares.
    /// @return unbonding Tokens unbonding.
    function poolOf(address operator)
        external
        view
        returns (bool registered, uint256 activeStake, uint256 shares, uint256 unbonding)
    {
        Pool storage pool = _pools[operator];
        return (pool.registered, pool.stake, pool.shares, pool.unbonding);
    }

    /// @notice Rewards `account` could claim now from `operator`'s pool.
    /// @param operator The pool.
    /// @param account The staker.
    /// @return Amount in wei.
    function pendingRewards(address operator, address account) external view returns (uint256) {
        Pool storage pool = _pools[operator];
        Member storage member = _members[operator][account];
        uint256 acc = pool.accRewardPerShare;
        if (pool.shares > 0) {
            acc += (pool.stake * (accRewardPerStake - pool.globalDebt) + pool.rewardCarry) / pool.shares;
        }
        return member.unclaimed + (member.shares * (acc - member.rewardDebt)) / PRECISION;
    }

    /// @notice An unbonding entry and its current value.
    /// @param unbondingId The id.
    /// @return account Owner.
    /// @return operator Pool.
    /// @return readyAt Unix time when it can be withdrawn.
    /// @return amount Current value in wei (after slashes).
    function unbondingOf(uint256 unbondingId)
        external
        view
        returns (address account, address operator, uint64 readyAt, uint256 amount)
    {
        Unbonding storage entry = _unbondings[unbondingId];
        Pool storage pool = _pools[entry.operator];
        if (entry.shares > 0) {
            amount = entry.shares == pool.unbondingShares
                ? pool.unbonding
                : (entry.shares * pool.unbonding) / pool.unbondingShares;
        }
        return (entry.account, entry.operator, entry.readyAt, amount);
    }

    // ---------------------------------------------------------------- internals

    function _syncPool(Pool storage pool) private {
        uint256 delta = accRewardPerStake - pool.globalDebt;
        pool.globalDebt = accRewardPerStake;
        if (delta == 0 || pool.shares == 0) return;
        uint256 scaled = pool.stake * delta + pool.rewardCarry;
        pool.accRewardPerShare += scaled / pool.shares;
        pool.rewardCarry = scaled % pool.shares;
    }

    function _syncMember(Pool storage pool, Member storage member) private returns (Member storage) {
        member.unclaimed += (member.shares * (pool.accRewardPerShare - member.rewardDebt)) / PRECISION;
        member.rewardDebt = pool.accRewardPerShare;
        return member;
    }

    function _shareValue(Pool storage pool, uint256 shares) private view returns (uint256) {
        if (shares == 0) return 0;
        return shares == pool.shares ? pool.stake : (shares * pool.stake) / pool.shares;
    }

    function _ceilDiv(uint256 a, uint256 b) private pure returns (uint256) {
        return a == 0 ? 0 : (a - 1) / b + 1;
    }
}
