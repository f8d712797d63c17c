// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {IAttributionVerifier} from "./interfaces/IAttributionVerifier.sol";
import {IEIP3009} from "./interfaces/IEIP3009.sol";
import {IModelRegistry} from "./interfaces/IModelRegistry.sol";
import {IStaking} from "./interfaces/IStaking.sol";

/// @title Prepaid inference escrow and settlement batches with a challenge window
/// @notice Users prepay $OPEN into an escrow (withdrawals wait out a delay, so operators can settle
/// what was served). A staked operator posts a batch per model: per-account debits and a root over
/// (account, amount) payout leaves for the credited data contributors. The fee (sum of debits) is
/// split by governable basis points between the platform, the model owner, stakers and contributors.
/// After the challenge window the batch is final: platform and model-owner shares become claimable,
/// the stakers' share goes to Staking, and contributors pull theirs with Merkle proofs (once per
/// account and batch). A challenge proven within the window (through the attribution verifier, or
/// directly by showing a payout leaf larger than the batch's contributors total) reverts the batch:
/// nothing is credited, the debits return to the escrows ({refundRevertedBatch}), and the operator is
/// slashed, part of the slash going to the challenger and the rest to the platform.
/// Rounding: each of the model-owner, stakers and contributors shares is fee * bps / 10000 rounded
/// down; the platform gets the rest, so the four shares always sum to the fee exactly.
contract InferenceSettlement is AccessControl {
    using SafeERC20 for IERC20;

    uint16 public constant BPS = 10_000;

    enum BatchStatus {
        None,
        Pending,
        Finalized,
        Reverted,
        Refunded
    }

    struct FeeSplit {
        uint16 platformBps;
        uint16 modelOwnerBps;
        uint16 stakersBps;
        uint16 contributorsBps;
    }

    struct Batch {
        address operator;
        uint64 challengeDeadline;
        BatchStatus status;
        address modelOwner;
        uint256 modelId;
        uint256 fee;
        uint256 platformShare;
        uint256 modelOwnerShare;
        uint256 stakersShare;
        uint256 contributorsShare;
        uint256 contributorsClaimed;
        bytes32 contributorsRoot;
        bytes32 debitsHash; // keccak256(abi.encode(accounts, debits))
    }

    struct WithdrawalRequest {
        uint256 amount;
        uint64 readyAt;
    }

    /// @notice The fee token ($OPEN or WOPEN).
    IERC20 public immutable token;
    /// @notice Operator registry, reward sink and slasher.
    IStaking public immutable staking;
    /// @notice Model owners and status.
    IModelRegistry public immutable models;

    /// @notice Receiver of the platform share (and the platform's part of slashes).
    address public platformTreasury;
    /// @notice Seconds a batch stays challengeable after posting.
    uint64 public challengeWindow;
    /// @notice Seconds between a withdrawal request and the withdrawal.
    uint64 public withdrawalDelay;
    /// @notice Judges challenges; zero means only {challengeInvalidLeaf} works.
    IAttributionVerifier public verifier;
    /// @notice Tokens slashed from an operator per successful challenge (capped at its pool).
    uint256 public slashAmount;
    /// @notice Share of each slash paid to the challenger, in basis points.
    uint16 public challengerRewardBps;

    FeeSplit private _feeSplit;
    uint256 private _nextBatchId = 1;
    mapping(address account => uint256) private _escrow;
    mapping(address account => WithdrawalRequest) private _withdrawals;
    mapping(uint256 batchId => Batch) private _batches;
    mapping(uint256 batchId => mapping(address account => bool)) private _claimed;
    mapping(address account => uint256) private _earnings;

    /// @notice Sum of all escrows.
    uint256 public totalEscrow;
    /// @notice Fees of batches that are pending or reverted but not yet refunded.
    uint256 public totalLocked;
    /// @notice Sum of all claimable earnings (platform, model owners).
    uint256 public totalEarnings;
    /// @notice Contributors' shares of finalized batches not yet claimed.
    uint256 public totalContributorsOwed;

    /// @notice `account`'s escrow was credited `amount` by `payer`.
    event Deposited(address indexed account, address indexed payer, uint256 amount);
    /// @notice `account` asked to withdraw `amount` at `readyAt`.
    event WithdrawalRequested(address indexed account, uint256 amount, uint64 readyAt);
    /// @notice `account` withdrew `amount` from its escrow.
    event Withdrawn(address indexed account, uint256 amount);
    /// @notice A batch was posted and the escrows debited.
    event BatchPosted(
        uint256 indexed batchId,
        address indexed operator,
        uint256 indexed modelId,
        uint256 fee,
        bytes32 contributorsRoot,
        uint256 contributorsTotal,
        uint64 challengeDeadline
    );
    /// @notice A batch became final and its shares were credited.
    event BatchFinalized(
        uint256 indexed batchId, uint256 platformShare, uint256 modelOwnerShare, uint256 stakersShare
    );
    /// @notice A batch was proven wrong and reverted; the operator was slashed.
    event BatchChallenged(
        uint256 indexed batchId, address indexed challenger, uint256 slashed, uint256 challengerReward
    );
    /// @notice A reverted batch's debits went back to the escrows.
    event BatchRefunded(uint256 indexed batchId, uint256 amount);
    /// @notice A contributor pulled its payout from a batch.
    event Claimed(uint256 indexed batchId, address indexed account, uint256 amount);
    /// @notice `account` withdrew its earnings to `to`.
    event EarningsClaimed(address indexed account, address indexed to, uint256 amount);
    /// @notice The fee split changed.
    event FeeSplitSet(uint16 platformBps, uint16 modelOwnerBps, uint16 stakersBps, uint16 contributorsBps);
    /// @notice The challenge window changed (for batches posted from now on).
    event ChallengeWindowSet(uint64 challengeWindow);
    /// @notice The withdrawal delay changed (for requests made from now on).
    event WithdrawalDelaySet(uint64 withdrawalDelay);
    /// @notice The attribution verifier changed.
    event VerifierSet(address verifier);
    /// @notice The slash parameters changed.
    event SlashParamsSet(uint256 slashAmount, uint16 challengerRewardBps);
    /// @notice The platform treasury changed.
    event PlatformTreasurySet(address platformTreasury);

    /// @notice Amount must be positive.
    error ZeroAmount();
    /// @notice The zero address is not allowed here.
    error ZeroAddress();
    /// @notice The basis points do not sum to 10000.
    error InvalidFeeSplit(uint256 sum);
    /// @notice Basis points above 10000.
    error InvalidBps(uint256 bps);
    /// @notice `account` holds `balance` in escrow, less than `required`.
    error InsufficientEscrow(address account, uint256 balance, uint256 required);
    /// @notice `account` has no withdrawal request.
    error NoWithdrawalRequested(address account);
    /// @notice The withdrawal is ready at `readyAt`.
    error WithdrawalNotReady(address account, uint64 readyAt, uint256 timestamp);
    /// @notice The caller is not a staked operator.
    error NotOperator(address caller);
    /// @notice The model does not exist or is retired.
    error InactiveModel(uint256 modelId);
    /// @notice An empty batch.
    error EmptyBatch();
    /// @notice Array lengths differ.
    error LengthMismatch(uint256 expected, uint256 actual);
    /// @notice The contributors total must equal the contributors' share of the fee.
    error ContributorsTotalMismatch(uint256 expected, uint256 actual);
    /// @notice A positive contributors share needs a non-zero root.
    error MissingContributorsRoot();
    /// @notice No batch with this id.
    error UnknownBatch(uint256 batchId);
    /// @notice The batch is not in the status this needs.
    error WrongBatchStatus(uint256 batchId, BatchStatus status);
    /// @notice The challenge window is still open until `deadline`.
    error ChallengeWindowOpen(uint256 batchId, uint64 deadline, uint256 timestamp);
    /// @notice The challenge window closed at `deadline`.
    error ChallengeWindowClosed(uint256 batchId, uint64 deadline, uint256 timestamp);
    /// @notice No attribution verifier is set, so only {challengeInvalidLeaf} is available.
    error VerifierNotSet();
    /// @notice The evidence does not prove the batch wrong.
    error ChallengeRejected(uint256 batchId);
    /// @notice The proof does not prove (account, amount) in the batch's root.
    error InvalidProof(uint256 batchId, address account, uint256 amount);
    /// @notice `account` already claimed from the batch.
    error AlreadyClaimed(uint256 batchId, address account);
    /// @notice The claim would exceed what the batch owes contributors.
    error ClaimExceedsBatch(uint256 batchId, uint256 requested, uint256 remaining);
    /// @notice The accounts and debits do not match the batch's commitment.
    error DebitsMismatch(uint256 batchId);
    /// @notice Nothing to claim.
    error NothingToClaim(address account);

    /// @param admin Holder of DEFAULT_ADMIN_ROLE (all parameters).
    /// @param token_ The fee token.
    /// @param staking_ Staking (this contract needs its SLASHER_ROLE).
    /// @param models_ ModelRegistry.
    /// @param platformTreasury_ Receiver of the platform share.
    /// @param challengeWindow_ Seconds a batch stays challengeable.
    /// @param withdrawalDelay_ Seconds between a withdrawal request and the withdrawal.
    constructor(
        address admin,
        IERC20 token_,
        IStaking staking_,
        IModelRegistry models_,
        address platformTreasury_,
        uint64 challengeWindow_,
        uint64 withdrawalDelay_
    ) {
        if (platformTreasury_ == address(0)) revert ZeroAddress();
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        token = token_;
        staking = staking_;
        models = models_;
        platformTreasury = platformTreasury_;
        challengeWindow = challengeWindow_;
        withdrawalDelay = withdrawalDelay_;
        _setFeeSplit(FeeSplit(500, 3000, 1500, 5000));
        slashAmount = 1000 ether;
        challengerRewardBps = 5000;
        emit PlatformTreasurySet(platformTreasury_);
        emit ChallengeWindowSet(challengeWindow_);
        emit WithdrawalDelaySet(withdrawalDelay_);
        emit SlashParamsSet(1000 ether, 5000);
    }

    // ---------------------------------------------------------------- escrow

    /// @notice Credits `amount` to the caller's escrow, pulled from the caller (approve first).
    /// @param amount Amount in wei.
    function deposit(uint256 amount) external {
        token.safeTransferFrom(msg.sender, address(this), amount);
        _deposit(msg.sender, amount);
    }

    /// @notice Credits `amount` to `account`'s escrow, pulled from the caller (approve first).
    /// @param account The escrow to credit.
    /// @param amount Amount in wei.
    function depositFor(address account, uint256 amount) external {
        if (account == address(0)) revert ZeroAddress();
        token.safeTransferFrom(msg.sender, address(this), amount);
        _deposit(account, amount);
    }

    /// @notice Credits `from`'s escrow with an EIP-3009 ReceiveWithAuthorization signed by `from` to
    /// this contract (gasless for `from`; anyone may submit it).
    /// @param from Payer and escrow owner.
    /// @param value Amount in wei.
    /// @param validAfter Authorization start (exclusive).
    /// @param validBefore Authorization end (exclusive).
    /// @param nonce Authorization nonce.
    /// @param signature `from`'s signature.
    function depositWithAuthorization(
        address from,
        uint256 value,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce,
        bytes calldata signature
    ) external {
        IEIP3009(address(token)).receiveWithAuthorization(
            from, address(this), value, validAfter, validBefore, nonce, signature
        );
        _deposit(from, value);
    }

    /// @notice Asks to withdraw `amount` of the caller's escrow after the withdrawal delay; replaces any
    /// earlier request. The escrow stays debitable by settlements until the withdrawal.
    /// @param amount Amount in wei.
    function requestWithdrawal(uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        uint256 balance = _escrow[msg.sender];
        if (amount > balance) revert InsufficientEscrow(msg.sender, balance, amount);
        uint64 readyAt = uint64(block.timestamp) + withdrawalDelay;
        _withdrawals[msg.sender] = WithdrawalRequest(amount, readyAt);
        emit WithdrawalRequested(msg.sender, amount, readyAt);
    }

    /// @notice Withdraws the requested amount (or the whole escrow if less remains) once ready.
    /// @return amount Tokens sent to the caller.
    function withdraw() external returns (uint256 amount) {
        WithdrawalRequest memory request = _withdrawals[msg.sender];
        if (request.amount == 0) revert NoWithdrawalRequested(msg.sender);
        if (block.timestamp < request.readyAt) {
            revert WithdrawalNotReady(msg.sender, request.readyAt, block.timestamp);
        }
        uint256 balance = _escrow[msg.sender];
        amount = request.amount < balance ? request.amount : balance;
        delete _withdrawals[msg.sender];
        _escrow[msg.sender] = balance - amount;
        totalEscrow -= amount;
        emit Withdrawn(msg.sender, amount);
        if (amount > 0) token.safeTransfer(msg.sender, amount);
    }

    // ---------------------------------------------------------------- batches

    /// @notice Posts a settlement batch for `modelId`: debits each account's escrow and commits to the
    /// contributors' payout root. Only staked operators ({IStaking-isOperator}).
    /// @param modelId The model served (must be active).
    /// @param accounts Paying accounts.
    /// @param debits Amount debited from each account.
    /// @param contributorsRoot Root over keccak256(bytes.concat(keccak256(abi.encode(account, amount)))) leaves.
    /// @param contributorsTotal Sum of the leaves' amounts; must equal the contributors' share of the fee.
    /// @return batchId The new batch's id.
    function postBatch(
        uint256 modelId,
        address[] calldata accounts,
        uint256[] calldata debits,
        bytes32 contributorsRoot,
        uint256 contributorsTotal
    ) external returns (uint256 batchId) {
        if (!staking.isOperator(msg.sender)) revert NotOperator(msg.sender);
        if (!models.isActive(modelId)) revert InactiveModel(modelId);
        uint256 fee = _debitAll(accounts, debits);
        batchId = _nextBatchId++;
        Batch storage b = _batches[batchId];
        (b.platformShare, b.modelOwnerShare, b.stakersShare, b.contributorsShare) = splitFee(fee);
        if (contributorsTotal != b.contributorsShare) {
            revert ContributorsTotalMismatch(b.contributorsShare, contributorsTotal);
        }
        if (contributorsTotal > 0 && contributorsRoot == bytes32(0)) revert MissingContributorsRoot();
        uint64 deadline = uint64(block.timestamp) + challengeWindow;
        b.operator = msg.sender;
        b.challengeDeadline = deadline;
        b.status = BatchStatus.Pending;
        b.modelOwner = models.ownerOf(modelId);
        b.modelId = modelId;
        b.fee = fee;
        b.contributorsRoot = contributorsRoot;
        b.debitsHash = keccak256(abi.encode(accounts, debits));
        totalEscrow -= fee;
        totalLocked += fee;
        emit BatchPosted(batchId, msg.sender, modelId, fee, contributorsRoot, contributorsTotal, deadline);
    }

    /// @notice Makes a batch final after its challenge window: credits the platform and model-owner
    /// shares, sends the stakers' share to Staking, and opens contributor claims. Anyone may call it;
    /// {claim} calls it too.
    /// @param batchId The batch.
    function finalizeBatch(uint256 batchId) public {
        Batch storage b = _batch(batchId);
        if (b.status != BatchStatus.Pending) revert WrongBatchStatus(batchId, b.status);
        if (block.timestamp < b.challengeDeadline) {
            revert ChallengeWindowOpen(batchId, b.challengeDeadline, block.timestamp);
        }
        b.status = BatchStatus.Finalized;
        totalLocked -= b.fee;
        _credit(platformTreasury, b.platformShare);
        _credit(b.modelOwner, b.modelOwnerShare);
        totalContributorsOwed += b.contributorsShare;
        emit BatchFinalized(batchId, b.platformShare, b.modelOwnerShare, b.stakersShare);
        uint256 stakersShare = b.stakersShare;
        if (stakersShare > 0) {
            token.forceApprove(address(staking), stakersShare);
            staking.notifyReward(stakersShare);
        }
    }

    /// @notice Pulls the caller's payout from a batch after its challenge window.
    /// @param batchId The batch.
    /// @param amount The amount in the caller's leaf.
    /// @param proof Merkle proof of the (caller, amount) leaf.
    function claim(uint256 batchId, uint256 amount, bytes32[] calldata proof) external {
        _claim(batchId, msg.sender, amount, proof);
    }

    /// @notice Pulls `account`'s payout from a batch to `account` (for relayers).
    /// @param batchId The batch.
    /// @param account The contributor in the leaf.
    /// @param amount The amount in the leaf.
    /// @param proof Merkle proof of the (account, amount) leaf.
    function claimFor(uint256 batchId, address account, uint256 amount, bytes32[] calldata proof) external {
        _claim(batchId, account, amount, proof);
    }

    /// @notice Challenges a pending batch through the attribution verifier, within the window.
    /// A proven challenge reverts the batch and slashes its operator.
    /// @param batchId The batch.
    /// @param evidence Verifier-specific proof that the batch is wrong.
    function challenge(uint256 batchId, bytes calldata evidence) external {
        Batch storage b = _challengeable(batchId);
        IAttributionVerifier v = verifier;
        if (address(v) == address(0)) revert VerifierNotSet();
        if (!v.verifyChallenge(batchId, b.contributorsRoot, evidence)) revert ChallengeRejected(batchId);
        _revertBatch(batchId, b);
    }

    /// @notice Challenges a pending batch without a verifier by proving its root holds a leaf whose
    /// amount exceeds the batch's whole contributors total (the root cannot be honest).
    /// @param batchId The batch.
    /// @param account The leaf's account.
    /// @param amount The leaf's amount (must exceed the contributors total).
    /// @param proof Merkle proof of the leaf.
    function challengeInvalidLeaf(uint256 batchId, address account, uint256 amount, bytes32[] calldata proof)
        external
    {
        Batch storage b = _challengeable(batchId);
        if (!MerkleProof.verifyCalldata(proof, b.contributorsRoot, _leaf(account, amount))) {
            revert InvalidProof(batchId, account, amount);
        }
        if (amount <= b.contributorsShare) revert ChallengeRejected(batchId);
        _revertBatch(batchId, b);
    }

    /// @notice Returns a reverted batch's debits to the escrows. Anyone may call it with the batch's
    /// accounts and debits exactly as posted.
    /// @param batchId The reverted batch.
    /// @param accounts The accounts as posted.
    /// @param debits The debits as posted.
    function refundRevertedBatch(uint256 batchId, address[] calldata accounts, uint256[] calldata debits) external {
        Batch storage b = _batch(batchId);
        if (b.status != BatchStatus.Reverted) revert WrongBatchStatus(batchId, b.status);
        if (keccak256(abi.encode(accounts, debits)) != b.debitsHash) revert DebitsMismatch(batchId);
        b.status = BatchStatus.Refunded;
        for (uint256 i = 0; i < accounts.length; i++) {
            _escrow[accounts[i]] += debits[i];
        }
        totalLocked -= b.fee;
        totalEscrow += b.fee;
        emit BatchRefunded(batchId, b.fee);
    }

    /// @notice Withdraws the caller's earnings (platform share, model-owner shares) to `to`.
    /// @param to Receiver.
    /// @return amount Tokens sent.
    function claimEarnings(address to) external returns (uint256 amount) {
        amount = _earnings[msg.sender];
        if (amount == 0) revert NothingToClaim(msg.sender);
        _earnings[msg.sender] = 0;
        totalEarnings -= amount;
        emit EarningsClaimed(msg.sender, to, amount);
        token.safeTransfer(to, amount);
    }

    // ---------------------------------------------------------------- parameters

    /// @notice Sets the fee split; the four must sum to 10000. Only DEFAULT_ADMIN_ROLE.
    /// @param platformBps Platform share.
    /// @param modelOwnerBps Model owner share.
    /// @param stakersBps Stakers share.
    /// @param contributorsBps Contributors share.
    function setFeeSplit(uint16 platformBps, uint16 modelOwnerBps, uint16 stakersBps, uint16 contributorsBps)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
    {
        _setFeeSplit(FeeSplit(platformBps, modelOwnerBps, stakersBps, contributorsBps));
    }

    /// @notice Sets the challenge window for batches posted from now on. Only DEFAULT_ADMIN_ROLE.
    /// @param challengeWindow_ Seconds.
    function setChallengeWindow(uint64 challengeWindow_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        challengeWindow = challengeWindow_;
        emit ChallengeWindowSet(challengeWindow_);
    }

    /// @notice Sets the withdrawal delay for requests made from now on. Only DEFAULT_ADMIN_ROLE.
    /// @param withdrawalDelay_ Seconds.
    function setWithdrawalDelay(uint64 withdrawalDelay_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        withdrawalDelay = withdrawalDelay_;
        emit WithdrawalDelaySet(withdrawalDelay_);
    }

    /// @notice Sets the attribution verifier (zero disables {challenge}). Only DEFAULT_ADMIN_ROLE.
    /// @param verifier_ The verifier.
    function setVerifier(IAttributionVerifier verifier_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        verifier = verifier_;
        emit VerifierSet(address(verifier_));
    }

    /// @notice Sets the slash per successful challenge and the challenger's part. Only DEFAULT_ADMIN_ROLE.
    /// @param slashAmount_ Tokens slashed (capped at the operator's pool).
    /// @param challengerRewardBps_ Challenger's share of the slash in basis points.
    function setSlashParams(uint256 slashAmount_, uint16 challengerRewardBps_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (challengerRewardBps_ > BPS) revert InvalidBps(challengerRewardBps_);
        slashAmount = slashAmount_;
        challengerRewardBps = challengerRewardBps_;
        emit SlashParamsSet(slashAmount_, challengerRewardBps_);
    }

    /// @notice Sets the platform treasury (receives platform shares finalized from now on). Only DEFAULT_ADMIN_ROLE.
    /// @param platformTreasury_ The treasury.
    function setPlatformTreasury(address platformTreasury_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (platformTreasury_ == address(0)) revert ZeroAddress();
        platformTreasury = platformTreasury_;
        emit PlatformTreasurySet(platformTreasury_);
    }

    // ---------------------------------------------------------------- views

    /// @notice How a fee of `fee` wei splits now; the platform takes the rounding remainder.
    /// @param fee The fee.
    /// @return platformShare Platform.
    /// @return modelOwnerShare Model owner.
    /// @return stakersShare Stakers.
    /// @return contributorsShare Contributors.
    function splitFee(uint256 fee)
        public
        view
        returns (uint256 platformShare, uint256 modelOwnerShare, uint256 stakersShare, uint256 contributorsShare)
    {
        FeeSplit memory s = _feeSplit;
        modelOwnerShare = (fee * s.modelOwnerBps) / BPS;
        stakersShare = (fee * s.stakersBps) / BPS;
        contributorsShare = (fee * s.contributorsBps) / BPS;
        platformShare = fee - modelOwnerShare - stakersShare - contributorsShare;
    }

    /// @notice The current fee split.
    /// @return The split in basis points.
    function feeSplit() external view returns (FeeSplit memory) {
        return _feeSplit;
    }

    /// @notice `account`'s escrow balance.
    /// @param account The account.
    /// @return Amount in wei.
    function escrowOf(address account) external view returns (uint256) {
        return _escrow[account];
    }

    /// @notice `account`'s pending withdrawal request.
    /// @param account The account.
    /// @return The request (amount zero when none).
    function withdrawalOf(address account) external view returns (WithdrawalRequest memory) {
        return _withdrawals[account];
    }

    /// @notice A batch's record.
    /// @param batchId The batch.
    /// @return The record (status None when unknown).
    function getBatch(uint256 batchId) external view returns (Batch memory) {
        return _batches[batchId];
    }

    /// @notice Whether `account` claimed from the batch.
    /// @param batchId The batch.
    /// @param account The contributor.
    /// @return True when claimed.
    function hasClaimed(uint256 batchId, address account) external view returns (bool) {
        return _claimed[batchId][account];
    }

    /// @notice `account`'s claimable earnings.
    /// @param account The account.
    /// @return Amount in wei.
    function earningsOf(address account) external view returns (uint256) {
        return _earnings[account];
    }

    // ---------------------------------------------------------------- internals

    function _deposit(address account, uint256 amount) private {
        if (amount == 0) revert ZeroAmount();
        _escrow[account] += amount;
        totalEscrow += amount;
        emit Deposited(account, msg.sender, amount);
    }

    function _debitAll(address[] calldata accounts, uint256[] calldata debits) private returns (uint256 fee) {
        uint256 n = accounts.length;
        if (n == 0) revert EmptyBatch();
        if (debits.length != n) revert LengthMismatch(n, debits.length);
        for (uint256 i = 0; i < n; i++) {
            address account = accounts[i];
            uint256 debit = debits[i];
            uint256 balance = _escrow[account];
            if (debit > balance) revert InsufficientEscrow(account, balance, debit);
            _escrow[account] = balance - debit;
            fee += debit;
        }
    }

    function _claim(uint256 batchId, address account, uint256 amount, bytes32[] calldata proof) private {
        Batch storage b = _batch(batchId);
        if (b.status == BatchStatus.Pending) finalizeBatch(batchId);
        if (b.status != BatchStatus.Finalized) revert WrongBatchStatus(batchId, b.status);
        if (amount == 0) revert ZeroAmount();
        if (_claimed[batchId][account]) revert AlreadyClaimed(batchId, account);
        if (!MerkleProof.verifyCalldata(proof, b.contributorsRoot, _leaf(account, amount))) {
            revert InvalidProof(batchId, account, amount);
        }
        uint256 remaining = b.contributorsShare - b.contributorsClaimed;
        if (amount > remaining) revert ClaimExceedsBatch(batchId, amount, remaining);
        _claimed[batchId][account] = true;
        b.contributorsClaimed += amount;
        totalContributorsOwed -= amount;
        emit Claimed(batchId, account, amount);
        token.safeTransfer(account, amount);
    }

    function _revertBatch(uint256 batchId, Batch storage b) private {
        b.status = BatchStatus.Reverted;
        uint256 slashed = staking.slash(b.operator, slashAmount, address(this));
        uint256 reward = (slashed * challengerRewardBps) / BPS;
        _credit(platformTreasury, slashed - reward);
        emit BatchChallenged(batchId, msg.sender, slashed, reward);
        if (reward > 0) token.safeTransfer(msg.sender, reward);
    }

    function _credit(address account, uint256 amount) private {
        if (amount == 0) return;
        _earnings[account] += amount;
        totalEarnings += amount;
    }

    function _setFeeSplit(FeeSplit memory s) private {
        uint256 sum = uint256(s.platformBps) + s.modelOwnerBps + s.stakersBps + s.contributorsBps;
        if (sum != BPS) revert InvalidFeeSplit(sum);
        _feeSplit = s;
        emit FeeSplitSet(s.platformBps, s.modelOwnerBps, s.stakersBps, s.contributorsBps);
    }

    function _batch(uint256 batchId) private view returns (Batch storage b) {
        b = _batches[batchId];
        if (b.status == BatchStatus.None) revert UnknownBatch(batchId);
    }

    function _challengeable(uint256 batchId) private view returns (Batch storage b) {
        b = _batch(batchId);
        if (b.status != BatchStatus.Pending) revert WrongBatchStatus(batchId, b.status);
        if (block.timestamp >= b.challengeDeadline) {
            revert ChallengeWindowClosed(batchId, b.challengeDeadline, block.timestamp);
        }
    }

    function _leaf(address account, uint256 amount) private pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(account, amount))));
    }
}
