// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {IAttributionVerifier} from "./interfaces/IAttributionVerifier.sol";
import {IEIP3009} from "./interfaces/IEIP3009.sol";
import {IModelRegistry} from "./interfaces/IModelRegistry.sol";
import {IStaking} from "./interfaces/IStaking.sol";
import {Payout, RecordTree, SumNode} from "./libraries/RecordTree.sol";

/// @title Prepaid inference escrow, payer-bounded settlement batches, disputes and challenges
/// @notice Payers prepay $OPEN into an escrow and authorise each operator separately: a cap on the
/// cumulative amount that operator may debit and an expiry, set on-chain or signed (EIP-712) for the
/// operator to submit. An authorisation marked `voucherOnly` also lets the payer dispute any debit the
/// operator cannot cover with the payer's signed cumulative voucher. A staked operator posts a batch per
/// model: debits (each within its payer's authorisation and unreserved escrow), an optional prepaid part
/// (x402 payments it already collected, pulled from the operator) and the root of a sum tree over one
/// attribution record per served output, whose payouts sum to the contributors' share. Contributors claim
/// their payouts from the records themselves, so payouts are bound to the attribution that a verifier can
/// recompute. Within the challenge window a batch can be challenged (a record proven wrong), a payer can
/// dispute a debit and anyone can ask for a record's evidence; an unanswered dispute reverts the batch like
/// a proven challenge: the operator is slashed and every debit can be refunded, account by account.
/// Parameters are fixed per batch when it is posted; admin changes wait out {PARAMS_DELAY}.
/// Rounding: the model-owner, stakers and contributors shares are fee * bps / 10000 rounded down; the
/// platform gets the rest, so the four shares always sum to the fee exactly.
contract InferenceSettlement is AccessControl {
    using SafeERC20 for IERC20;

    uint16 public constant BPS = 10_000;
    /// @notice How long a matured withdrawal request stays usable.
    uint64 public constant WITHDRAWAL_VALIDITY = 1 days;
    /// @notice Delay between an admin scheduling parameters and their taking effect (once a batch exists).
    uint64 public constant PARAMS_DELAY = 3 days;
    /// @notice Most payouts per record (claims are tracked in one 256-bit word per record).
    uint256 public constant MAX_PAYOUTS = 256;
    bytes32 public constant AUTHORIZATION_TYPEHASH = keccak256(
        "SpendingAuthorization(address payer,address operator,uint256 cap,uint256 expiry,bool voucherOnly,uint256 nonce)"
    );
    bytes32 public constant VOUCHER_TYPEHASH = keccak256("Voucher(address payer,address operator,uint256 cumulative)");

    enum BatchStatus {
        None,
        Pending,
        Finalized,
        Reverted
    }

    enum DisputeKind {
        None,
        Debit,
        Evidence
    }

    enum DisputeStatus {
        None,
        Open,
        Answered,
        Upheld
    }

    struct FeeSplit {
        uint16 platformBps;
        uint16 modelOwnerBps;
        uint16 stakersBps;
        uint16 contributorsBps;
    }

    /// @notice Everything a batch is judged and paid by, fixed when it is posted.
    struct Params {
        IAttributionVerifier verifier;
        uint64 challengeWindow;
        uint64 responseWindow;
        address treasury;
        uint64 withdrawalDelay;
        uint16 challengerRewardBps;
        uint256 slashAmount;
        FeeSplit split;
    }

    struct Batch {
        address operator;
        uint32 paramsId;
        uint32 openDisputes;
        BatchStatus status;
        uint64 challengeDeadline;
        uint64 finalizableAt;
        address modelOwner;
        uint256 modelId;
        uint256 fee;
        uint256 prepaid;
        uint256 platformShare;
        uint256 modelOwnerShare;
        uint256 stakersShare;
        uint256 contributorsShare;
        uint256 contributorsClaimed;
        bytes32 recordsRoot;
        bytes32 debitsRoot;
    }

    struct Escrow {
        uint96 balance;
        uint96 withdrawal;
        uint32 readyAt;
        uint32 expiresAt;
    }

    struct Authorization {
        uint96 cap;
        uint96 spent;
        uint40 expiry;
        bool voucherOnly;
    }

    struct SpendingAuthorization {
        address payer;
        address operator;
        uint256 cap;
        uint256 expiry;
        bool voucherOnly;
        uint256 nonce;
    }

    /// @notice One debit of a batch as its debits tree holds it.
    struct Debit {
        address account;
        uint256 amount;
        uint256 spentAfter;
        bool voucherOnly;
        bytes32[] proof;
    }

    /// @notice A record of a batch with its attribution bytes, for challenges and evidence requests.
    struct Record {
        uint256 index;
        bytes attribution;
        Payout[] payouts;
        SumNode[] proof;
    }

    /// @notice A payout to claim: entry `entry` of record `index`.
    struct Claim {
        uint256 index;
        bytes32 attributionHash;
        Payout[] payouts;
        uint256 entry;
        SumNode[] proof;
    }

    struct Dispute {
        uint256 batchId;
        address opener;
        uint64 answerBy;
        DisputeKind kind;
        DisputeStatus status;
        bytes32 subject;
    }

    bytes32 private constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    uint256 private immutable _chainId;
    bytes32 private immutable _cachedDomainSeparator;

    /// @notice The fee token ($OPEN or WOPEN).
    IERC20 public immutable token;
    /// @notice Operator registry, reward sink and slasher.
    IStaking public immutable staking;
    /// @notice Model owners and status.
    IModelRegistry public immutable models;

    /// @notice Id of the parameters new batches are posted with.
    uint32 public currentParamsId;
    /// @notice When the scheduled parameters may be activated (0: none scheduled).
    uint64 public pendingParamsEta;
    Params private _pendingParams;
    mapping(uint32 id => Params) private _params;

    uint256 private _nextBatchId = 1;
    uint256 private _nextDisputeId = 1;
    mapping(address account => Escrow) private _escrows;
    mapping(address payer => mapping(address operator => Authorization)) private _authorizations;
    mapping(address payer => mapping(address operator => uint256)) private _authorizationNonces;
    mapping(uint256 batchId => Batch) private _batches;
    mapping(uint256 batchId => mapping(uint256 recordIndex => uint256 claimedBits)) private _claimed;
    mapping(uint256 batchId => mapping(bytes32 debitLeaf => bool)) private _refunded;
    mapping(uint256 disputeId => Dispute) private _disputes;
    mapping(uint256 batchId => mapping(bytes32 subject => uint256 disputeId)) private _disputeOf;
    mapping(address account => uint256) private _earnings;

    /// @notice Sum of all escrows.
    uint256 public totalEscrow;
    /// @notice Fees of pending batches and debits of reverted batches not yet refunded.
    uint256 public totalLocked;
    /// @notice Sum of all claimable earnings.
    uint256 public totalEarnings;
    /// @notice Contributors' shares of finalized batches not yet claimed.
    uint256 public totalContributorsOwed;

    event Deposited(address indexed account, address indexed payer, uint256 amount);
    event WithdrawalRequested(address indexed account, uint256 amount, uint64 readyAt, uint64 expiresAt);
    event Withdrawn(address indexed account, uint256 amount);
    /// @notice `payer` lets `operator` debit up to `cap` in total until `expiry`.
    event Authorized(address indexed payer, address indexed operator, uint256 cap, uint64 expiry, bool voucherOnly);
    event BatchPosted(
        uint256 indexed batchId,
        address indexed operator,
        uint256 indexed modelId,
        uint256 fee,
        uint256 prepaid,
        bytes32 recordsRoot,
        bytes32 debitsRoot,
        uint32 paramsId,
        uint64 challengeDeadline
    );
    event BatchFinalized(uint256 indexed batchId, uint256 platformShare, uint256 modelOwnerShare, uint256 stakersShare);
    /// @notice A batch was reverted (challenge proven or dispute unanswered); `rewarded` got `reward`.
    event BatchReverted(uint256 indexed batchId, address indexed rewarded, uint256 slashed, uint256 reward);
    event DebitRefunded(uint256 indexed batchId, address indexed account, uint256 amount);
    event Claimed(uint256 indexed batchId, address indexed account, uint256 indexed recordIndex, uint256 amount);
    event EarningsClaimed(address indexed account, address indexed to, uint256 amount);
    event DisputeOpened(
        uint256 indexed disputeId, uint256 indexed batchId, DisputeKind kind, bytes32 subject, uint64 answerBy
    );
    /// @notice The operator answered; an evidence answer's data is in the transaction's calldata.
    event DisputeAnswered(uint256 indexed disputeId, uint256 indexed batchId);
    event ParamsScheduled(uint64 eta, Params params);
    event ParamsActivated(uint32 indexed paramsId);

    error ZeroAmount();
    error ZeroAddress();
    error AmountTooLarge(uint256 amount);
    error InvalidFeeSplit(uint256 sum);
    error InvalidBps(uint256 bps);
    /// @notice The challenge window plus two response windows must be shorter than Staking's unbonding
    /// period, or an operator could unbond before its batches can be judged.
    error WindowsExceedUnbonding(uint256 windows, uint256 unbondingPeriod);
    error NoParamsScheduled();
    error ParamsNotReady(uint64 eta, uint256 timestamp);
    /// @notice `account` can be debited `available`, less than `required`.
    error InsufficientEscrow(address account, uint256 available, uint256 required);
    error NoWithdrawalRequested(address account);
    error WithdrawalNotReady(address account, uint64 readyAt, uint256 timestamp);
    error WithdrawalExpired(address account, uint64 expiresAt, uint256 timestamp);
    /// @notice `payer`'s authorisation of the operator expired at `expiry`.
    error SpendingAuthorizationExpired(address payer, uint64 expiry);
    /// @notice The debit would take `payer`'s total with the operator to `spent`, above `cap`.
    error SpendingCapExceeded(address payer, uint256 cap, uint256 spent);
    error InvalidAuthorizationNonce(uint256 expected, uint256 actual);
    error InvalidSignature(address signer);
    error NotOperator(address caller);
    error InactiveModel(uint256 modelId);
    error EmptyBatch();
    error LengthMismatch(uint256 expected, uint256 actual);
    /// @notice The records' total must equal the contributors' share of the fee.
    error RecordsTotalMismatch(uint256 expected, uint256 actual);
    error MissingRecordsRoot();
    error UnknownBatch(uint256 batchId);
    error WrongBatchStatus(uint256 batchId, BatchStatus status);
    error ChallengeWindowOpen(uint256 batchId, uint64 finalizableAt, uint256 timestamp);
    error ChallengeWindowClosed(uint256 batchId, uint64 deadline, uint256 timestamp);
    error DisputesOpen(uint256 batchId, uint256 count);
    error VerifierNotSet();
    error ChallengeRejected(uint256 batchId);
    /// @notice The proof does not place the record at `index` in the batch's records tree.
    error InvalidRecordProof(uint256 batchId, uint256 index);
    error InvalidDebitProof(uint256 batchId, address account);
    error PayoutOutOfRange(uint256 entry, uint256 count);
    error AlreadyClaimed(uint256 batchId, uint256 recordIndex, uint256 entry);
    error AlreadyRefunded(uint256 batchId, address account);
    error NothingToClaim(address account);
    error UnknownDispute(uint256 disputeId);
    error DuplicateDispute(uint256 batchId, bytes32 subject, uint256 disputeId);
    error NotPayer(address caller, address account);
    error NotDisputable(address account);
    error WrongDispute(uint256 disputeId);
    error NotTheOperator(address caller, address operator);
    error AnswerWindowClosed(uint256 disputeId, uint64 answerBy, uint256 timestamp);
    error AnswerWindowOpen(uint256 disputeId, uint64 answerBy, uint256 timestamp);
    error VoucherTooLow(uint256 cumulative, uint256 spentAfter);
    error AnswerRejected(uint256 disputeId);

    /// @param admin Holder of DEFAULT_ADMIN_ROLE (parameters).
    /// @param token_ The fee token.
    /// @param staking_ Staking (this contract needs its SLASHER_ROLE).
    /// @param models_ ModelRegistry.
    /// @param platformTreasury_ Receiver of the platform share.
    /// @param challengeWindow_ Seconds a batch stays challengeable (the response window starts equal).
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
        _chainId = block.chainid;
        _cachedDomainSeparator = _buildDomainSeparator();
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        token = token_;
        staking = staking_;
        models = models_;
        _schedule(
            Params({
                verifier: IAttributionVerifier(address(0)),
                challengeWindow: challengeWindow_,
                responseWindow: challengeWindow_,
                treasury: platformTreasury_,
                withdrawalDelay: withdrawalDelay_,
                challengerRewardBps: 5000,
                slashAmount: 1000 ether,
                split: FeeSplit(500, 3000, 1500, 5000)
            })
        );
    }

    // ---------------------------------------------------------------- escrow

    /// @notice Credits `amount` to the caller's escrow, pulled from the caller (approve first).
    function deposit(uint256 amount) external {
        token.safeTransferFrom(msg.sender, address(this), amount);
        _deposit(msg.sender, amount);
    }

    /// @notice Credits `amount` to `account`'s escrow, pulled from the caller (approve first).
    function depositFor(address account, uint256 amount) external {
        if (account == address(0)) revert ZeroAddress();
        token.safeTransferFrom(msg.sender, address(this), amount);
        _deposit(account, amount);
    }

    /// @notice Credits `from`'s escrow with an EIP-3009 ReceiveWithAuthorization signed by `from` to this
    /// contract (gasless for `from`; anyone may submit it).
    function depositWithAuthorization(
        address from,
        uint256 value,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce,
        bytes calldata signature
    ) external {
        IEIP3009(address(token))
            .receiveWithAuthorization(from, address(this), value, validAfter, validBefore, nonce, signature);
        _deposit(from, value);
    }

    /// @notice Asks to withdraw `amount` after the withdrawal delay; replaces any earlier request. Until the
    /// request matures operators may still debit the escrow; from then until it expires
    /// ({WITHDRAWAL_VALIDITY} later) the requested amount is reserved for the withdrawal.
    function requestWithdrawal(uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        Escrow storage e = _escrows[msg.sender];
        if (amount > e.balance) revert InsufficientEscrow(msg.sender, e.balance, amount);
        uint64 readyAt = uint64(block.timestamp) + _params[currentParamsId].withdrawalDelay;
        uint64 expiresAt = readyAt + WITHDRAWAL_VALIDITY;
        e.withdrawal = uint96(amount);
        e.readyAt = uint32(readyAt);
        e.expiresAt = uint32(expiresAt);
        emit WithdrawalRequested(msg.sender, amount, readyAt, expiresAt);
    }

    /// @notice Withdraws the requested amount (or the whole escrow if less remains) between the request's
    /// maturity and its expiry.
    /// @return amount Tokens sent to the caller.
    function withdraw() external returns (uint256 amount) {
        Escrow memory e = _escrows[msg.sender];
        if (e.withdrawal == 0) revert NoWithdrawalRequested(msg.sender);
        if (block.timestamp < e.readyAt) revert WithdrawalNotReady(msg.sender, e.readyAt, block.timestamp);
        if (block.timestamp >= e.expiresAt) revert WithdrawalExpired(msg.sender, e.expiresAt, block.timestamp);
        amount = e.withdrawal < e.balance ? e.withdrawal : e.balance;
        _escrows[msg.sender] = Escrow(uint96(e.balance - amount), 0, 0, 0);
        totalEscrow -= amount;
        emit Withdrawn(msg.sender, amount);
        if (amount > 0) token.safeTransfer(msg.sender, amount);
    }

    // ---------------------------------------------------------------- authorisations

    /// @notice Lets `operator` debit the caller's escrow up to `cap` in total (including what it already
    /// debited) until `expiry`. `voucherOnly`: every debit must be covered by the caller's signed voucher,
    /// and the caller may dispute any that is not.
    function authorize(address operator, uint256 cap, uint64 expiry, bool voucherOnly) external {
        _authorize(msg.sender, operator, cap, expiry, voucherOnly);
    }

    /// @notice {authorize} with the payer's EIP-712 `SpendingAuthorization` signature (anyone may submit,
    /// typically the operator); `nonce` must be the pair's current {authorizationNonce}.
    function authorizeWithSignature(SpendingAuthorization calldata a, bytes calldata signature) external {
        bytes32 digest = _typedDataHash(
            keccak256(abi.encode(AUTHORIZATION_TYPEHASH, a.payer, a.operator, a.cap, a.expiry, a.voucherOnly, a.nonce))
        );
        if (!SignatureChecker.isValidSignatureNowCalldata(a.payer, digest, signature)) {
            revert InvalidSignature(a.payer);
        }
        uint256 expected = _authorizationNonces[a.payer][a.operator];
        if (a.nonce != expected) revert InvalidAuthorizationNonce(expected, a.nonce);
        _authorize(a.payer, a.operator, a.cap, a.expiry, a.voucherOnly);
    }

    // ---------------------------------------------------------------- batches

    /// @notice Posts a settlement batch for `modelId`. Only staked operators. Each `amounts[i]` is debited
    /// from `payers[i]`'s escrow within its authorisation of the caller; `prepaid` (x402 payments already
    /// collected) is pulled from the caller. The fee is their sum; `recordsTotal` (the root's payout sum)
    /// must equal the contributors' share of it.
    /// @return batchId The new batch's id.
    function postBatch(
        uint256 modelId,
        address[] calldata payers,
        uint256[] calldata amounts,
        uint256 prepaid,
        bytes32 recordsRoot,
        uint256 recordsTotal
    ) external returns (uint256 batchId) {
        if (!staking.isOperator(msg.sender)) revert NotOperator(msg.sender);
        if (!models.isActive(modelId)) revert InactiveModel(modelId);
        uint256 n = payers.length;
        if (amounts.length != n) revert LengthMismatch(n, amounts.length);
        if (n == 0 && prepaid == 0) revert EmptyBatch();
        (bytes32 debitsRoot, uint256 debited) = _debitAll(payers, amounts);
        totalEscrow -= debited;
        batchId = _storeBatch(modelId, debited + prepaid, prepaid, recordsRoot, recordsTotal, debitsRoot);
        staking.openBatch(msg.sender, batchId);
        if (prepaid > 0) token.safeTransferFrom(msg.sender, address(this), prepaid);
    }

    function _storeBatch(
        uint256 modelId,
        uint256 fee,
        uint256 prepaid,
        bytes32 recordsRoot,
        uint256 recordsTotal,
        bytes32 debitsRoot
    ) private returns (uint256 batchId) {
        uint32 paramsId = currentParamsId;
        Params storage p = _params[paramsId];
        _checkWindows(p.challengeWindow, p.responseWindow);
        batchId = _nextBatchId++;
        Batch storage b = _batches[batchId];
        (b.platformShare, b.modelOwnerShare, b.stakersShare, b.contributorsShare) = _split(p.split, fee);
        if (recordsTotal != b.contributorsShare) revert RecordsTotalMismatch(b.contributorsShare, recordsTotal);
        if (recordsRoot == bytes32(0) && recordsTotal > 0) revert MissingRecordsRoot();
        uint64 deadline = uint64(block.timestamp) + p.challengeWindow;
        b.operator = msg.sender;
        b.paramsId = paramsId;
        b.status = BatchStatus.Pending;
        b.challengeDeadline = deadline;
        b.finalizableAt = deadline;
        b.modelOwner = models.ownerOf(modelId);
        b.modelId = modelId;
        b.fee = fee;
        b.prepaid = prepaid;
        b.recordsRoot = recordsRoot;
        b.debitsRoot = debitsRoot;
        totalLocked += fee;
        emit BatchPosted(batchId, msg.sender, modelId, fee, prepaid, recordsRoot, debitsRoot, paramsId, deadline);
    }

    /// @notice Makes a batch final once its window closed and no dispute is open: credits the platform and
    /// model-owner shares, pays the stakers' share to its operator's pool and opens contributor claims. Anyone.
    function finalizeBatch(uint256 batchId) public {
        Batch storage b = _batch(batchId);
        if (b.status != BatchStatus.Pending) revert WrongBatchStatus(batchId, b.status);
        if (block.timestamp < b.finalizableAt) revert ChallengeWindowOpen(batchId, b.finalizableAt, block.timestamp);
        if (b.openDisputes > 0) revert DisputesOpen(batchId, b.openDisputes);
        b.status = BatchStatus.Finalized;
        totalLocked -= b.fee;
        _credit(_params[b.paramsId].treasury, b.platformShare);
        _credit(b.modelOwner, b.modelOwnerShare);
        totalContributorsOwed += b.contributorsShare;
        emit BatchFinalized(batchId, b.platformShare, b.modelOwnerShare, b.stakersShare);
        uint256 stakersShare = b.stakersShare;
        if (stakersShare > 0) token.forceApprove(address(staking), stakersShare);
        staking.closeBatch(batchId, stakersShare);
    }

    /// @notice Pays record payouts of a finalized batch (finalizing it first when due). Anyone may call it;
    /// each payout goes to its own account.
    function claim(uint256 batchId, Claim[] calldata claims) external {
        Batch storage b = _batch(batchId);
        if (b.status == BatchStatus.Pending) finalizeBatch(batchId);
        if (b.status != BatchStatus.Finalized) revert WrongBatchStatus(batchId, b.status);
        for (uint256 i; i < claims.length; ++i) {
            Claim calldata c = claims[i];
            if (c.entry >= c.payouts.length) revert PayoutOutOfRange(c.entry, c.payouts.length);
            _proveRecord(batchId, b, c.index, c.attributionHash, c.payouts, c.proof);
            uint256 bits = _claimed[batchId][c.index];
            uint256 bit = 1 << c.entry;
            if (bits & bit != 0) revert AlreadyClaimed(batchId, c.index, c.entry);
            _claimed[batchId][c.index] = bits | bit;
            Payout calldata payout = c.payouts[c.entry];
            if (payout.amount == 0) revert NothingToClaim(payout.account);
            b.contributorsClaimed += payout.amount;
            totalContributorsOwed -= payout.amount;
            emit Claimed(batchId, payout.account, c.index, payout.amount);
            token.safeTransfer(payout.account, payout.amount);
        }
    }

    // ---------------------------------------------------------------- challenges and disputes

    /// @notice Proves a record of a pending batch wrong through the batch's verifier; reverts the batch,
    /// slashes its operator and credits the challenger's reward.
    function challenge(uint256 batchId, Record calldata record, bytes calldata evidence) external {
        Batch storage b = _batch(batchId);
        if (b.status != BatchStatus.Pending) revert WrongBatchStatus(batchId, b.status);
        if (block.timestamp >= b.finalizableAt) {
            revert ChallengeWindowClosed(batchId, b.finalizableAt, block.timestamp);
        }
        IAttributionVerifier v = _params[b.paramsId].verifier;
        if (address(v) == address(0)) revert VerifierNotSet();
        _proveRecord(batchId, b, record.index, keccak256(record.attribution), record.payouts, record.proof);
        if (!v.verifyChallenge(record.attribution, record.payouts, evidence)) revert ChallengeRejected(batchId);
        _revertBatch(batchId, b, msg.sender);
    }

    /// @notice Asks the operator for a record's evidence (its output and witness proofs, see
    /// {IAttributionVerifier-verifyAnswer}); unanswered within the response window, the batch reverts.
    /// @return disputeId The dispute.
    function requestEvidence(uint256 batchId, Record calldata record) external returns (uint256 disputeId) {
        Batch storage b = _disputable(batchId);
        bytes32 attributionHash = keccak256(record.attribution);
        _proveRecord(batchId, b, record.index, attributionHash, record.payouts, record.proof);
        disputeId = _openDispute(batchId, b, DisputeKind.Evidence, attributionHash);
    }

    /// @notice Answers an evidence request with the record's attribution bytes and the verifier's answer;
    /// keeps the batch challengeable for one more response window. Only the batch's operator.
    function answerEvidence(uint256 disputeId, bytes calldata attribution, bytes calldata answer) external {
        (Dispute storage d, Batch storage b) = _answerable(disputeId, DisputeKind.Evidence);
        if (keccak256(attribution) != d.subject) revert WrongDispute(disputeId);
        if (!_params[b.paramsId].verifier.verifyAnswer(attribution, answer)) revert AnswerRejected(disputeId);
        uint64 until = uint64(block.timestamp) + _params[b.paramsId].responseWindow;
        if (until > b.finalizableAt) b.finalizableAt = until;
        _closeDispute(disputeId, d, b);
    }

    /// @notice A payer with a `voucherOnly` authorisation disputes its debit in a pending batch; the
    /// operator must answer with the payer's voucher covering it within the response window.
    /// @return disputeId The dispute.
    function disputeDebit(uint256 batchId, Debit calldata debit) external returns (uint256 disputeId) {
        if (msg.sender != debit.account) revert NotPayer(msg.sender, debit.account);
        if (!debit.voucherOnly) revert NotDisputable(debit.account);
        Batch storage b = _disputable(batchId);
        _proveDebit(batchId, b, debit);
        disputeId = _openDispute(batchId, b, DisputeKind.Debit, keccak256(abi.encode(debit.account, debit.spentAfter)));
    }

    /// @notice Answers a debit dispute with the payer's EIP-712 `Voucher` for a cumulative amount at
    /// least the disputed debit's `spentAfter`. Only the batch's operator.
    function answerDebit(
        uint256 disputeId,
        address account,
        uint256 spentAfter,
        uint256 cumulative,
        bytes calldata signature
    ) external {
        (Dispute storage d, Batch storage b) = _answerable(disputeId, DisputeKind.Debit);
        if (keccak256(abi.encode(account, spentAfter)) != d.subject) revert WrongDispute(disputeId);
        if (cumulative < spentAfter) revert VoucherTooLow(cumulative, spentAfter);
        bytes32 digest = _typedDataHash(keccak256(abi.encode(VOUCHER_TYPEHASH, account, b.operator, cumulative)));
        if (!SignatureChecker.isValidSignatureNowCalldata(account, digest, signature)) {
            revert InvalidSignature(account);
        }
        _closeDispute(disputeId, d, b);
    }

    /// @notice Upholds a dispute left unanswered past its deadline: the batch reverts as if challenged and
    /// the dispute's opener gets the challenger's reward. Anyone.
    function resolveDispute(uint256 disputeId) external {
        Dispute storage d = _dispute(disputeId);
        if (d.status != DisputeStatus.Open) revert WrongDispute(disputeId);
        if (block.timestamp < d.answerBy) revert AnswerWindowOpen(disputeId, d.answerBy, block.timestamp);
        Batch storage b = _batches[d.batchId];
        d.status = DisputeStatus.Upheld;
        b.openDisputes -= 1;
        if (b.status == BatchStatus.Pending) _revertBatch(d.batchId, b, d.opener);
    }

    /// @notice Returns debits of a reverted batch to their escrows and authorisations, any number at a
    /// time, each once. Anyone.
    function refund(uint256 batchId, Debit[] calldata debits) external {
        Batch storage b = _batch(batchId);
        if (b.status != BatchStatus.Reverted) revert WrongBatchStatus(batchId, b.status);
        address operator = b.operator;
        uint256 total;
        for (uint256 i; i < debits.length; ++i) {
            Debit calldata d = debits[i];
            bytes32 leaf = _proveDebit(batchId, b, d);
            if (_refunded[batchId][leaf]) revert AlreadyRefunded(batchId, d.account);
            _refunded[batchId][leaf] = true;
            _escrows[d.account].balance += uint96(d.amount);
            _authorizations[d.account][operator].spent -= uint96(d.amount);
            total += d.amount;
            emit DebitRefunded(batchId, d.account, d.amount);
        }
        totalLocked -= total;
        totalEscrow += total;
    }

    /// @notice Withdraws the caller's earnings (platform and model-owner shares, challenge rewards,
    /// a reverted batch's prepaid part) to `to`.
    function claimEarnings(address to) external returns (uint256 amount) {
        amount = _earnings[msg.sender];
        if (amount == 0) revert NothingToClaim(msg.sender);
        _earnings[msg.sender] = 0;
        totalEarnings -= amount;
        emit EarningsClaimed(msg.sender, to, amount);
        token.safeTransfer(to, amount);
    }

    // ---------------------------------------------------------------- parameters

    /// @notice Schedules a whole parameter set (read the current one with {paramsOf}). The fee split must
    /// sum to 10000, the challenger's part be at most 10000, the treasury non-zero and the windows shorter
    /// than unbonding. Only DEFAULT_ADMIN_ROLE.
    function setParams(Params calldata p) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _schedule(p);
    }

    /// @notice Schedules the attribution verifier alone (zero disables challenges and evidence requests).
    /// Only DEFAULT_ADMIN_ROLE.
    function setVerifier(IAttributionVerifier verifier_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        Params memory p = pendingParamsEta != 0 ? _pendingParams : _params[currentParamsId];
        p.verifier = verifier_;
        _schedule(p);
    }

    /// @notice Activates the scheduled parameters once {PARAMS_DELAY} has passed. Anyone.
    function activateParams() external {
        uint64 eta = pendingParamsEta;
        if (eta == 0) revert NoParamsScheduled();
        if (block.timestamp < eta) revert ParamsNotReady(eta, block.timestamp);
        _activate(_pendingParams);
    }

    // ---------------------------------------------------------------- views

    /// @notice How a fee splits under the current parameters; the platform takes the rounding remainder.
    function splitFee(uint256 fee)
        external
        view
        returns (uint256 platformShare, uint256 modelOwnerShare, uint256 stakersShare, uint256 contributorsShare)
    {
        return _split(_params[currentParamsId].split, fee);
    }

    /// @notice Parameters by id (those of a batch: `getBatch(id).paramsId`).
    function paramsOf(uint32 paramsId) external view returns (Params memory) {
        return _params[paramsId];
    }

    /// @notice The current challenge window in seconds.
    function challengeWindow() external view returns (uint64) {
        return _params[currentParamsId].challengeWindow;
    }

    /// @notice The current attribution verifier.
    function verifier() external view returns (IAttributionVerifier) {
        return _params[currentParamsId].verifier;
    }

    /// @notice The EIP-712 domain separator of authorisations and vouchers: name "OpenLedger
    /// InferenceSettlement", version "1", this chain and this contract.
    function domainSeparator() public view returns (bytes32) {
        return block.chainid == _chainId ? _cachedDomainSeparator : _buildDomainSeparator();
    }

    /// @notice `account`'s escrow balance.
    function escrowOf(address account) external view returns (uint256) {
        return _escrows[account].balance;
    }

    /// @notice What operators may debit from `account` now (the balance less a matured withdrawal).
    function debitableOf(address account) external view returns (uint256) {
        return _debitable(_escrows[account]);
    }

    /// @notice `account`'s escrow with its withdrawal request.
    function escrowDetails(address account) external view returns (Escrow memory) {
        return _escrows[account];
    }

    /// @notice `payer`'s authorisation of `operator`.
    function authorizationOf(address payer, address operator) external view returns (Authorization memory) {
        return _authorizations[payer][operator];
    }

    /// @notice The nonce the next signed authorisation of `operator` by `payer` must carry.
    function authorizationNonce(address payer, address operator) external view returns (uint256) {
        return _authorizationNonces[payer][operator];
    }

    /// @notice A batch's record.
    function getBatch(uint256 batchId) external view returns (Batch memory) {
        return _batches[batchId];
    }

    /// @notice A dispute's record.
    function getDispute(uint256 disputeId) external view returns (Dispute memory) {
        return _disputes[disputeId];
    }

    /// @notice Whether payout `entry` of record `recordIndex` was claimed.
    function isClaimed(uint256 batchId, uint256 recordIndex, uint256 entry) external view returns (bool) {
        return entry < MAX_PAYOUTS && _claimed[batchId][recordIndex] & (1 << entry) != 0;
    }

    /// @notice `account`'s claimable earnings.
    function earningsOf(address account) external view returns (uint256) {
        return _earnings[account];
    }

    /// @notice The leaf of a debit in a batch's debits tree (OpenZeppelin's double-hashed leaf over
    /// `abi.encode(account, amount, spentAfter, voucherOnly)`; the tree is the merkle package's layout over
    /// the leaves in posting order).
    function _debitLeaf(address account, uint256 amount, uint256 spentAfter, bool voucherOnly)
        private
        pure
        returns (bytes32)
    {
        return keccak256(bytes.concat(keccak256(abi.encode(account, amount, spentAfter, voucherOnly))));
    }

    // ---------------------------------------------------------------- internals

    function _buildDomainSeparator() private view returns (bytes32) {
        return keccak256(
            abi.encode(
                DOMAIN_TYPEHASH,
                keccak256("OpenLedger InferenceSettlement"),
                keccak256("1"),
                block.chainid,
                address(this)
            )
        );
    }

    function _typedDataHash(bytes32 structHash) private view returns (bytes32) {
        return keccak256(abi.encodePacked("\x19\x01", domainSeparator(), structHash));
    }

    function _deposit(address account, uint256 amount) private {
        if (amount == 0) revert ZeroAmount();
        Escrow storage e = _escrows[account];
        uint256 balance = uint256(e.balance) + amount;
        if (balance > type(uint96).max) revert AmountTooLarge(balance);
        e.balance = uint96(balance);
        totalEscrow += amount;
        emit Deposited(account, msg.sender, amount);
    }

    function _authorize(address payer, address operator, uint256 cap, uint256 expiry, bool voucherOnly) private {
        if (operator == address(0)) revert ZeroAddress();
        if (cap > type(uint96).max) revert AmountTooLarge(cap);
        if (expiry > type(uint40).max) revert AmountTooLarge(expiry);
        Authorization storage a = _authorizations[payer][operator];
        a.cap = uint96(cap);
        a.expiry = uint40(expiry);
        a.voucherOnly = voucherOnly;
        _authorizationNonces[payer][operator] += 1;
        emit Authorized(payer, operator, cap, uint64(expiry), voucherOnly);
    }

    function _debitable(Escrow storage e) private view returns (uint256) {
        uint256 balance = e.balance;
        uint256 withdrawal = e.withdrawal;
        if (withdrawal == 0 || block.timestamp < e.readyAt || block.timestamp >= e.expiresAt) return balance;
        return balance > withdrawal ? balance - withdrawal : 0;
    }

    /// @dev Debits every payer within its authorisation and builds the debits tree in memory (leaves
    /// hashed in scratch space, so memory grows by one word per node only).
    function _debitAll(address[] calldata payers, uint256[] calldata amounts)
        private
        returns (bytes32 root, uint256 total)
    {
        uint256 n = payers.length;
        if (n == 0) return (bytes32(0), 0);
        bytes32[] memory tree = new bytes32[](2 * n - 1);
        for (uint256 i; i < n; ++i) {
            address payer = payers[i];
            uint256 amount = amounts[i];
            // storage pointers only: a memory struct per debit would grow memory, and its cost, quadratically
            Authorization storage a = _authorizations[payer][msg.sender];
            uint40 expiry = a.expiry;
            if (block.timestamp > expiry) revert SpendingAuthorizationExpired(payer, expiry);
            uint256 spentAfter = uint256(a.spent) + amount;
            if (spentAfter > a.cap) revert SpendingCapExceeded(payer, a.cap, spentAfter);
            Escrow storage e = _escrows[payer];
            uint256 available = _debitable(e);
            if (amount > available) revert InsufficientEscrow(payer, available, amount);
            e.balance -= uint96(amount);
            a.spent = uint96(spentAfter);
            total += amount;
            bool voucherOnly = a.voucherOnly;
            bytes32 leaf;
            assembly ("memory-safe") {
                let ptr := mload(0x40)
                mstore(ptr, payer)
                mstore(add(ptr, 0x20), amount)
                mstore(add(ptr, 0x40), spentAfter)
                mstore(add(ptr, 0x60), voucherOnly)
                mstore(0x00, keccak256(ptr, 0x80))
                leaf := keccak256(0x00, 0x20)
            }
            tree[2 * n - 2 - i] = leaf;
        }
        assembly ("memory-safe") {
            let nodes := add(tree, 0x20)
            for { let i := sub(n, 1) } gt(i, 0) {} {
                i := sub(i, 1)
                let a := mload(add(nodes, shl(5, add(shl(1, i), 1))))
                let b := mload(add(nodes, shl(5, add(shl(1, i), 2))))
                switch lt(a, b)
                case 1 {
                    mstore(0x00, a)
                    mstore(0x20, b)
                }
                default {
                    mstore(0x00, b)
                    mstore(0x20, a)
                }
                mstore(add(nodes, shl(5, i)), keccak256(0x00, 0x40))
            }
            root := mload(nodes)
        }
    }

    function _proveRecord(
        uint256 batchId,
        Batch storage b,
        uint256 index,
        bytes32 attributionHash,
        Payout[] calldata payouts,
        SumNode[] calldata proof
    ) private view {
        if (payouts.length > MAX_PAYOUTS) revert PayoutOutOfRange(payouts.length, MAX_PAYOUTS);
        (bool ok, SumNode memory top) = RecordTree.root(RecordTree.leaf(attributionHash, payouts), index, proof);
        if (!ok || top.hash != b.recordsRoot || top.sum != b.contributorsShare) {
            revert InvalidRecordProof(batchId, index);
        }
    }

    function _proveDebit(uint256 batchId, Batch storage b, Debit calldata d) private view returns (bytes32 leaf) {
        leaf = _debitLeaf(d.account, d.amount, d.spentAfter, d.voucherOnly);
        if (!MerkleProof.verifyCalldata(d.proof, b.debitsRoot, leaf)) revert InvalidDebitProof(batchId, d.account);
    }

    function _disputable(uint256 batchId) private view returns (Batch storage b) {
        b = _batch(batchId);
        if (b.status != BatchStatus.Pending) revert WrongBatchStatus(batchId, b.status);
        if (block.timestamp >= b.challengeDeadline) {
            revert ChallengeWindowClosed(batchId, b.challengeDeadline, block.timestamp);
        }
    }

    function _openDispute(uint256 batchId, Batch storage b, DisputeKind kind, bytes32 subject)
        private
        returns (uint256 disputeId)
    {
        uint256 existing = _disputeOf[batchId][subject];
        if (existing != 0) revert DuplicateDispute(batchId, subject, existing);
        if (kind == DisputeKind.Evidence && address(_params[b.paramsId].verifier) == address(0)) {
            revert VerifierNotSet();
        }
        disputeId = _nextDisputeId++;
        uint64 answerBy = uint64(block.timestamp) + _params[b.paramsId].responseWindow;
        _disputes[disputeId] = Dispute(batchId, msg.sender, answerBy, kind, DisputeStatus.Open, subject);
        _disputeOf[batchId][subject] = disputeId;
        b.openDisputes += 1;
        emit DisputeOpened(disputeId, batchId, kind, subject, answerBy);
    }

    function _answerable(uint256 disputeId, DisputeKind kind)
        private
        view
        returns (Dispute storage d, Batch storage b)
    {
        d = _dispute(disputeId);
        if (d.kind != kind || d.status != DisputeStatus.Open) revert WrongDispute(disputeId);
        b = _batches[d.batchId];
        if (msg.sender != b.operator) revert NotTheOperator(msg.sender, b.operator);
        if (block.timestamp >= d.answerBy) revert AnswerWindowClosed(disputeId, d.answerBy, block.timestamp);
    }

    function _closeDispute(uint256 disputeId, Dispute storage d, Batch storage b) private {
        d.status = DisputeStatus.Answered;
        b.openDisputes -= 1;
        emit DisputeAnswered(disputeId, d.batchId);
    }

    /// @dev Marks the batch reverted, returns its prepaid part to the operator's earnings, slashes the
    /// operator by the batch's slash amount and splits the slash between `rewarded` and the treasury.
    function _revertBatch(uint256 batchId, Batch storage b, address rewarded) private {
        b.status = BatchStatus.Reverted;
        Params storage p = _params[b.paramsId];
        uint256 prepaid = b.prepaid;
        totalLocked -= prepaid;
        _credit(b.operator, prepaid);
        uint256 slashed = staking.slashBatch(batchId, p.slashAmount, address(this));
        uint256 reward = (slashed * p.challengerRewardBps) / BPS;
        _credit(rewarded, reward);
        _credit(p.treasury, slashed - reward);
        emit BatchReverted(batchId, rewarded, slashed, reward);
    }

    function _credit(address account, uint256 amount) private {
        if (amount == 0) return;
        _earnings[account] += amount;
        totalEarnings += amount;
    }

    function _split(FeeSplit memory s, uint256 fee)
        private
        pure
        returns (uint256 platformShare, uint256 modelOwnerShare, uint256 stakersShare, uint256 contributorsShare)
    {
        modelOwnerShare = (fee * s.modelOwnerBps) / BPS;
        stakersShare = (fee * s.stakersBps) / BPS;
        contributorsShare = (fee * s.contributorsBps) / BPS;
        platformShare = fee - modelOwnerShare - stakersShare - contributorsShare;
    }

    /// @dev Validates `p`; applies it at once while no batch exists (nobody's payment depends on it yet),
    /// otherwise schedules it {PARAMS_DELAY} ahead.
    function _schedule(Params memory p) private {
        FeeSplit memory s = p.split;
        uint256 sum = uint256(s.platformBps) + s.modelOwnerBps + s.stakersBps + s.contributorsBps;
        if (sum != BPS) revert InvalidFeeSplit(sum);
        if (p.challengerRewardBps > BPS) revert InvalidBps(p.challengerRewardBps);
        if (p.treasury == address(0)) revert ZeroAddress();
        _checkWindows(p.challengeWindow, p.responseWindow);
        if (_nextBatchId == 1) {
            _activate(p);
            return;
        }
        uint64 eta = uint64(block.timestamp) + PARAMS_DELAY;
        _pendingParams = p;
        pendingParamsEta = eta;
        emit ParamsScheduled(eta, p);
    }

    function _activate(Params memory p) private {
        uint32 id = currentParamsId + 1;
        _params[id] = p;
        currentParamsId = id;
        pendingParamsEta = 0;
        emit ParamsActivated(id);
    }

    function _checkWindows(uint64 challengeWindow, uint64 responseWindow) private view {
        uint256 windows = uint256(challengeWindow) + 2 * uint256(responseWindow);
        uint256 unbonding = staking.unbondingPeriod();
        if (windows >= unbonding) revert WindowsExceedUnbonding(windows, unbonding);
    }

    function _batch(uint256 batchId) private view returns (Batch storage b) {
        b = _batches[batchId];
        if (b.status == BatchStatus.None) revert UnknownBatch(batchId);
    }

    function _dispute(uint256 disputeId) private view returns (Dispute storage d) {
        d = _disputes[disputeId];
        if (d.status == DisputeStatus.None) revert UnknownDispute(disputeId);
    }
}
