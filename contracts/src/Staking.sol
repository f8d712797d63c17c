// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IStaking} from "./interfaces/IStaking.sol";

/// @title Operator staking, delegation, rewards and slashing in $OPEN
/// @notice Each operator has a pool: the operator's self-stake and its delegators' stake, held as pool
/// shares. The settlement opens a batch on its operator's pool when the batch is posted and closes it
/// when the batch is finalized (paying the stakers' share to the pool) or reverted (slashing the pool).
/// Both the reward and the slash of a batch reach exactly the stake that was bonded when it was posted:
/// - new stake warms up: it earns nothing and cannot be slashed until every batch its pool opened before
///   the stake arrived is closed, then it is activated (on the member's next action, or by anyone with
///   {activate}); so the active stake at a batch's close all arrived before the batch was posted;
/// - unbonded stake is out of the pool at once (no rewards, no slashes); an operator cannot unbond its
///   active self-stake while its pool has an open batch, so it cannot dodge a challenge.
/// Stake that unbonds while a batch is open forfeits that batch's reward to the stake that stays.
/// Rounding: reward remainders are carried (scaled) to the pool's next reward; what is below one wei per
/// member at claim time stays in this contract.
contract Staking is IStaking, AccessControl {
    using SafeERC20 for IERC20;

    /// @notice Role allowed to open, close and slash batches and to slash (InferenceSettlement).
    bytes32 public constant SLASHER_ROLE = keccak256("SLASHER_ROLE");
    uint256 private constant PRECISION = 1e27;

    struct Pool {
        bool registered;
        uint64 opened; // batches opened on this pool (their sequence numbers are 1..opened)
        uint64 closedThrough; // every batch with sequence <= closedThrough is closed
        uint256 stake; // active tokens (earn rewards, slashable)
        uint256 shares; // active shares
        uint256 warming; // tokens waiting for activation
        uint256 unbonding; // tokens waiting out the unbonding period
        uint256 accRewardPerShare; // scaled by PRECISION
        uint256 rewardCarry; // scaled remainder not yet spread over shares
    }

    struct Member {
        uint256 shares;
        uint256 rewardDebt; // pool.accRewardPerShare at the last sync
        uint256 unclaimed; // rewards in wei
        uint256 warming; // tokens staked while the pool had open batches
        uint64 warmAfter; // activatable once the pool closed every batch up to this sequence
    }

    struct Unbonding {
        address account;
        address operator;
        uint64 readyAt;
        uint256 amount;
    }

    struct BatchRef {
        address operator;
        uint64 seq;
    }

    /// @notice The staked token ($OPEN or WOPEN).
    IERC20 public immutable token;
    /// @notice The self-stake an operator needs to be an active operator.
    uint256 public minOperatorStake;
    /// @notice Seconds between an unbond request and its withdrawal.
    uint64 public unbondingPeriod;
    /// @notice Sum of all pools' active stake.
    uint256 public totalStaked;
    /// @notice Sum of all pools' warming stake.
    uint256 public totalWarming;
    /// @notice Sum of all pools' unbonding stake.
    uint256 public totalUnbonding;
    uint256 private _nextUnbondingId = 1;

    mapping(address operator => Pool) private _pools;
    mapping(address operator => mapping(address account => Member)) private _members;
    mapping(uint256 unbondingId => Unbonding) private _unbondings;
    mapping(address source => mapping(uint256 batchId => BatchRef)) private _batches;
    mapping(address operator => mapping(uint256 word => uint256 bits)) private _closed;

    /// @notice `operator` registered by staking to itself for the first time.
    event OperatorRegistered(address indexed operator);
    /// @notice `account` staked `amount` to `operator`'s pool and received `shares` (0 while it warms up).
    event Staked(address indexed operator, address indexed account, uint256 amount, uint256 shares);
    /// @notice `account`'s warming stake in `operator`'s pool became active as `shares`.
    event Activated(address indexed operator, address indexed account, uint256 amount, uint256 shares);
    /// @notice `account` started unbonding `amount` from `operator`'s pool.
    event UnbondingStarted(
        uint256 indexed unbondingId, address indexed operator, address indexed account, uint256 amount, uint64 readyAt
    );
    /// @notice An unbonding entry was withdrawn.
    event Withdrawn(uint256 indexed unbondingId, address indexed account, uint256 amount);
    /// @notice `source` opened batch `batchId` on `operator`'s pool as its `seq`-th batch.
    event BatchOpened(address indexed source, uint256 indexed batchId, address indexed operator, uint64 seq);
    /// @notice Batch `batchId` of `source` closed, paying `reward` to its operator's pool.
    event BatchClosed(address indexed source, uint256 indexed batchId, address indexed operator, uint256 reward);
    /// @notice `account` claimed `amount` rewards earned in `operator`'s pool.
    event RewardsClaimed(address indexed operator, address indexed account, uint256 amount);
    /// @notice `operator`'s pool was slashed by `amount` of its active stake.
    event Slashed(address indexed operator, address indexed slasher, address recipient, uint256 amount);
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
    /// @notice `account` has no stake in `operator`'s pool to unbond.
    error NothingToUnbond(address operator, address account);
    /// @notice `account` has no warming stake in `operator`'s pool that can be activated now.
    error NothingToActivate(address operator, address account);
    /// @notice `operator` cannot unbond active self-stake while its pool has an open batch.
    error SelfStakeLocked(address operator);
    /// @notice No unbonding entry with this id (or already withdrawn).
    error UnknownUnbonding(uint256 unbondingId);
    /// @notice The unbonding entry belongs to `owner`.
    error NotUnbondingOwner(uint256 unbondingId, address owner, address caller);
    /// @notice The unbonding entry is ready at `readyAt`.
    error UnbondingNotReady(uint256 unbondingId, uint64 readyAt, uint256 timestamp);
    /// @notice The caller already opened a batch with this id.
    error BatchAlreadyOpened(uint256 batchId);
    /// @notice The caller has no open batch with this id.
    error UnknownBatch(uint256 batchId);

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
    /// staking to someone else delegates to a registered operator. Pulls tokens (approve first). The stake
    /// is active at once when the pool has no open batch; otherwise it warms up until the pool closed every
    /// batch open now (it then earns and is slashable; see {activate}).
    /// @param operator The pool to stake into.
    /// @param amount Amount in wei.
    /// @return shares Pool shares received (0 while the stake warms up).
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
        Member storage member = _syncMember(pool, _members[operator][msg.sender]);
        _activate(operator, pool, member, msg.sender);
        if (pool.closedThrough == pool.opened) {
            shares = _mint(pool, member, amount);
        } else {
            member.warming += amount;
            member.warmAfter = pool.opened;
            pool.warming += amount;
            totalWarming += amount;
        }
        emit Staked(operator, msg.sender, amount, shares);
        token.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @notice Activates `account`'s warming stake in `operator`'s pool once the pool closed every batch
    /// that was open when it arrived. Anyone may call it; the member's own actions do it too.
    /// @return shares Pool shares minted.
    function activate(address operator, address account) external returns (uint256 shares) {
        Pool storage pool = _pools[operator];
        shares = _activate(operator, pool, _syncMember(pool, _members[operator][account]), account);
        if (shares == 0) revert NothingToActivate(operator, account);
    }

    /// @notice Moves up to `amount` of the caller's stake in `operator`'s pool into unbonding, warming
    /// stake first. An amount at or above the caller's stake unbonds everything. Rewards and slashes stop at
    /// once; the tokens can be withdrawn after the unbonding period. An operator cannot unbond active
    /// self-stake while its pool has an open batch.
    /// @param operator The pool.
    /// @param amount Amount in wei (use type(uint256).max for all).
    /// @return unbondingId Id to pass to {withdraw}.
    function unbond(address operator, uint256 amount) external returns (uint256 unbondingId) {
        if (amount == 0) revert ZeroAmount();
        Pool storage pool = _pools[operator];
        Member storage member = _syncMember(pool, _members[operator][msg.sender]);
        _activate(operator, pool, member, msg.sender);

        uint256 tokens = amount < member.warming ? amount : member.warming;
        member.warming -= tokens;
        pool.warming -= tokens;
        totalWarming -= tokens;
        uint256 rest = amount - tokens;
        uint256 value = _shareValue(pool, member.shares);
        if (rest > 0 && value > 0) {
            if (msg.sender == operator && pool.closedThrough < pool.opened) revert SelfStakeLocked(operator);
            uint256 burned = rest >= value ? member.shares : _ceilDiv(rest * pool.shares, pool.stake);
            uint256 fromStake = burned == pool.shares ? pool.stake : (burned * pool.stake) / pool.shares;
            member.shares -= burned;
            pool.shares -= burned;
            pool.stake -= fromStake;
            totalStaked -= fromStake;
            tokens += fromStake;
        }
        if (tokens == 0) revert NothingToUnbond(operator, msg.sender);
        pool.unbonding += tokens;
        totalUnbonding += tokens;

        unbondingId = _nextUnbondingId++;
        uint64 readyAt = uint64(block.timestamp) + unbondingPeriod;
        _unbondings[unbondingId] = Unbonding(msg.sender, operator, readyAt, tokens);
        emit UnbondingStarted(unbondingId, operator, msg.sender, tokens, readyAt);
    }

    /// @notice Withdraws an unbonding entry after its unbonding period.
    /// @param unbondingId The id returned by {unbond}.
    /// @return amount Tokens sent to the caller.
    function withdraw(uint256 unbondingId) external returns (uint256 amount) {
        Unbonding memory entry = _unbondings[unbondingId];
        if (entry.amount == 0) revert UnknownUnbonding(unbondingId);
        if (entry.account != msg.sender) revert NotUnbondingOwner(unbondingId, entry.account, msg.sender);
        if (block.timestamp < entry.readyAt) revert UnbondingNotReady(unbondingId, entry.readyAt, block.timestamp);
        amount = entry.amount;
        _pools[entry.operator].unbonding -= amount;
        totalUnbonding -= amount;
        delete _unbondings[unbondingId];
        emit Withdrawn(unbondingId, msg.sender, amount);
        token.safeTransfer(msg.sender, amount);
    }

    // ---------------------------------------------------------------- batches, rewards and slashes

    /// @inheritdoc IStaking
    function openBatch(address operator, uint256 batchId) external onlyRole(SLASHER_ROLE) {
        BatchRef storage ref = _batches[msg.sender][batchId];
        if (ref.seq != 0) revert BatchAlreadyOpened(batchId);
        Pool storage pool = _pools[operator];
        if (!pool.registered) revert UnknownOperator(operator);
        uint64 seq = ++pool.opened;
        ref.operator = operator;
        ref.seq = seq;
        emit BatchOpened(msg.sender, batchId, operator, seq);
    }

    /// @inheritdoc IStaking
    function closeBatch(uint256 batchId, uint256 reward) external onlyRole(SLASHER_ROLE) {
        (address operator, Pool storage pool) = _close(batchId);
        emit BatchClosed(msg.sender, batchId, operator, reward);
        if (reward == 0) return;
        token.safeTransferFrom(msg.sender, address(this), reward);
        // The pool's active shares all arrived before the batch was opened (warming stake joins only
        // after every batch open at its arrival closed). An operator keeps its self-stake through its
        // open batches, so there are shares; the carry only guards a pool slashed to zero shares.
        uint256 scaled = reward * PRECISION + pool.rewardCarry;
        if (pool.shares == 0) {
            pool.rewardCarry = scaled;
        } else {
            pool.accRewardPerShare += scaled / pool.shares;
            pool.rewardCarry = scaled % pool.shares;
        }
    }

    /// @inheritdoc IStaking
    function slashBatch(uint256 batchId, uint256 amount, address recipient)
        external
        onlyRole(SLASHER_ROLE)
        returns (uint256 slashed)
    {
        (address operator, Pool storage pool) = _close(batchId);
        emit BatchClosed(msg.sender, batchId, operator, 0);
        slashed = _slash(operator, pool, amount, recipient);
    }

    /// @inheritdoc IStaking
    function slash(address operator, uint256 amount, address recipient)
        external
        onlyRole(SLASHER_ROLE)
        returns (uint256 slashed)
    {
        slashed = _slash(operator, _pools[operator], amount, recipient);
    }

    /// @notice Claims the caller's rewards earned in `operator`'s pool.
    /// @param operator The pool.
    /// @return amount Tokens sent to the caller.
    function claimRewards(address operator) external returns (uint256 amount) {
        Pool storage pool = _pools[operator];
        Member storage member = _syncMember(pool, _members[operator][msg.sender]);
        _activate(operator, pool, member, msg.sender);
        amount = member.unclaimed;
        member.unclaimed = 0;
        emit RewardsClaimed(operator, msg.sender, amount);
        if (amount > 0) token.safeTransfer(msg.sender, amount);
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

    /// @notice The active stake of `account` in `operator`'s pool (warming stake not included).
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

    /// @notice `account`'s warming stake in `operator`'s pool.
    /// @return amount Warming tokens.
    /// @return activatable Whether the pool closed every batch the stake waits for.
    function warmingOf(address operator, address account) external view returns (uint256 amount, bool activatable) {
        Member storage member = _members[operator][account];
        return (member.warming, member.warming > 0 && _pools[operator].closedThrough >= member.warmAfter);
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

    /// @notice A pool's batches and warming stake.
    /// @return opened Batches opened on the pool.
    /// @return closedThrough Every batch up to this sequence number is closed.
    /// @return warming Warming tokens.
    function batchesOf(address operator) external view returns (uint64 opened, uint64 closedThrough, uint256 warming) {
        Pool storage pool = _pools[operator];
        return (pool.opened, pool.closedThrough, pool.warming);
    }

    /// @notice Rewards `account` could claim now from `operator`'s pool.
    /// @param operator The pool.
    /// @param account The staker.
    /// @return Amount in wei.
    function pendingRewards(address operator, address account) external view returns (uint256) {
        Member storage member = _members[operator][account];
        return member.unclaimed + (member.shares * (_pools[operator].accRewardPerShare - member.rewardDebt)) / PRECISION;
    }

    /// @notice An unbonding entry.
    /// @param unbondingId The id.
    /// @return account Owner.
    /// @return operator Pool.
    /// @return readyAt Unix time when it can be withdrawn.
    /// @return amount Amount in wei.
    function unbondingOf(uint256 unbondingId)
        external
        view
        returns (address account, address operator, uint64 readyAt, uint256 amount)
    {
        Unbonding storage entry = _unbondings[unbondingId];
        return (entry.account, entry.operator, entry.readyAt, entry.amount);
    }

    // ---------------------------------------------------------------- internals

    /// @dev Forgets the caller's batch, marks its sequence closed and advances the pool's closed prefix.
    function _close(uint256 batchId) private returns (address operator, Pool storage pool) {
        BatchRef memory ref = _batches[msg.sender][batchId];
        if (ref.seq == 0) revert UnknownBatch(batchId);
        delete _batches[msg.sender][batchId];
        operator = ref.operator;
        pool = _pools[operator];
        mapping(uint256 => uint256) storage closed = _closed[operator];
        closed[ref.seq >> 8] |= uint256(1) << (ref.seq & 0xff);
        uint64 through = pool.closedThrough;
        while (through < pool.opened && closed[(through + 1) >> 8] & (uint256(1) << ((through + 1) & 0xff)) != 0) {
            ++through;
        }
        pool.closedThrough = through;
    }

    /// @dev Cuts the pool's active stake (warming and unbonding stake are not bonded) and pays `recipient`.
    function _slash(address operator, Pool storage pool, uint256 amount, address recipient)
        private
        returns (uint256 slashed)
    {
        slashed = amount > pool.stake ? pool.stake : amount;
        if (slashed == 0) return 0;
        pool.stake -= slashed;
        totalStaked -= slashed;
        emit Slashed(operator, msg.sender, recipient, slashed);
        token.safeTransfer(recipient, slashed);
    }

    /// @dev Turns the member's warming stake into active shares once the pool closed every batch it waits
    /// for (not into a wiped pool). The member must be synced.
    function _activate(address operator, Pool storage pool, Member storage member, address account)
        private
        returns (uint256 shares)
    {
        uint256 amount = member.warming;
        if (amount == 0 || pool.closedThrough < member.warmAfter) return 0;
        if (pool.shares > 0 && pool.stake == 0) return 0;
        shares = _mint(pool, member, amount);
        member.warming = 0;
        pool.warming -= amount;
        totalWarming -= amount;
        emit Activated(operator, account, amount, shares);
    }

    /// @dev Adds `amount` of active stake for a synced member. A pool's stake never exceeds its shares
    /// (mints round shares down from at least the amount, unbonds round tokens down, slashes only cut
    /// stake), so every mint buys at least `amount` shares. Not for a wiped pool.
    function _mint(Pool storage pool, Member storage member, uint256 amount) private returns (uint256 shares) {
        shares = pool.shares == 0 ? amount : (amount * pool.shares) / pool.stake;
        pool.stake += amount;
        pool.shares += shares;
        member.shares += shares;
        totalStaked += amount;
    }

    function _syncMember(Pool storage pool, Member storage member) private returns (Member storage) {
        member.unclaimed += (member.shares * (pool.accRewardPerShare - member.rewardDebt)) / PRECISION;
        member.rewardDebt = pool.accRewardPerShare;
        return member;
    }

    function _shareValue(Pool storage pool, uint256 shares) private view returns (uint256) {
        return shares == pool.shares ? pool.stake : (shares * pool.stake) / pool.shares;
    }

    function _ceilDiv(uint256 a, uint256 b) private pure returns (uint256) {
        return a == 0 ? 0 : (a - 1) / b + 1;
    }
}
