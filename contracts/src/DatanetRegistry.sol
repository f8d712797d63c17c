// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {IDatanetRegistry} from "./interfaces/IDatanetRegistry.sol";

/// @title Datanets: community datasets with curation, snapshots and training licenses
/// @notice A Datanet has an owner, a metadata URI, license terms (price and owner share), a curation
/// policy (the owner alone, or the owner plus a curator set) and an optional contribution bond in
/// $OPEN. Contributors submit content hashes (singly or in batches); curators accept (bond refunded)
/// or reject (bond forfeited to the Datanet's pool). The owner publishes versioned snapshots: a
/// Merkle root over the accepted chunks plus a root over (contributor, weight) leaves. A training
/// license for a snapshot costs the snapshot's price: `ownerBps` of it is credited to the owner, the
/// rest to the snapshot's contributors, who pull their pro-rata part with a Merkle proof at any time
/// (cumulatively, so later sales are claimable too).
/// Leaves: chunk leaves as in the merkle package; contributor leaf =
/// keccak256(bytes.concat(keccak256(abi.encode(address contributor, uint256 weight)))).
/// Rounding: the contributors' part of a sale is the largest multiple of the snapshot's total weight
/// not above their bps share, so every contributor's pro-rata royalty is exact and the pool pays out
/// to the wei; the remainder (under `totalWeight` wei a sale) is the Datanet owner's.
contract DatanetRegistry is IDatanetRegistry {
    using SafeERC20 for IERC20;

    uint16 public constant BPS = 10_000;
    /// @notice Notice a bond raise gives: submissions already on their way never pay more than they saw.
    uint64 public constant BOND_NOTICE = 1 days;

    enum Status {
        None,
        Pending,
        Accepted,
        Rejected
    }

    struct Datanet {
        address owner;
        uint16 ownerBps;
        uint32 curatorCount;
        uint32 snapshotCount;
        uint64 contributionCount;
        uint64 acceptedCount;
        uint256 licensePrice;
        uint256 bond;
        uint256 pool;
        string metadataURI;
        uint96 pendingBond;
        uint64 bondEffectiveAt; // 0: no raise scheduled
    }

    struct Contribution {
        address contributor;
        uint64 byteSize;
        Status status;
        uint64 datanetId;
        uint96 bond;
        bytes32 contentHash;
        bytes32 license;
    }

    struct Snapshot {
        uint64 datanetId;
        uint32 version;
        uint32 chunkCount;
        uint32 contributionCount;
        uint16 ownerBps;
        uint64 publishedAt;
        bytes32 chunksRoot;
        bytes32 contributorsRoot;
        uint256 totalWeight;
        uint256 licensePrice;
        uint256 licenseCount;
        uint256 contributorsPool; // all license fees credited to contributors so far
        uint256 royaltiesClaimed;
        string uri;
    }

    /// @notice The payment token ($OPEN or WOPEN).
    IERC20 public immutable token;

    uint256 private _nextDatanetId = 1;
    uint256 private _nextContributionId = 1;
    uint256 private _nextSnapshotId = 1;
    mapping(uint256 datanetId => Datanet) private _datanets;
    mapping(uint256 datanetId => mapping(address account => bool)) private _curators;
    mapping(uint256 datanetId => mapping(bytes32 contentHash => uint256 contributionId)) private _byHash;
    mapping(uint256 contributionId => Contribution) private _contributions;
    mapping(uint256 snapshotId => Snapshot) private _snapshots;
    mapping(uint256 datanetId => mapping(uint32 version => uint256 snapshotId)) private _snapshotIds;
    mapping(uint256 snapshotId => mapping(address account => bool)) private _licenses;
    mapping(uint256 snapshotId => mapping(address account => uint256)) private _royaltiesClaimed;
    mapping(address account => uint256) private _claimable;

    /// @notice A Datanet was created.
    event DatanetCreated(
        uint256 indexed datanetId,
        address indexed owner,
        string metadataURI,
        uint256 licensePrice,
        uint16 ownerBps,
        uint256 bond
    );
    /// @notice The metadata URI changed.
    event MetadataURISet(uint256 indexed datanetId, string metadataURI);
    /// @notice License terms for future snapshots changed.
    event LicenseTermsSet(uint256 indexed datanetId, uint256 licensePrice, uint16 ownerBps);
    /// @notice The bond for contributions submitted from `effectiveAt` on changed.
    event ContributionBondSet(uint256 indexed datanetId, uint256 bond, uint64 effectiveAt);
    /// @notice A curator was added or removed.
    event CuratorSet(uint256 indexed datanetId, address indexed curator, bool enabled);
    /// @notice Ownership of a Datanet moved.
    event DatanetOwnershipTransferred(uint256 indexed datanetId, address indexed from, address indexed to);
    /// @notice A contribution was submitted (pending curation).
    event ContributionSubmitted(
        uint256 indexed contributionId,
        uint256 indexed datanetId,
        address indexed contributor,
        bytes32 contentHash,
        uint64 byteSize,
        bytes32 license,
        uint256 bond
    );
    /// @notice A contribution was accepted or rejected.
    event ContributionCurated(
        uint256 indexed contributionId, uint256 indexed datanetId, address indexed curator, bool accepted
    );
    /// @notice A snapshot was published (counts and license terms: {getSnapshot}).
    event SnapshotPublished(
        uint256 indexed snapshotId,
        uint256 indexed datanetId,
        uint32 version,
        bytes32 chunksRoot,
        bytes32 contributorsRoot,
        uint256 totalWeight,
        string uri
    );
    /// @notice A training license was bought.
    event LicensePurchased(
        uint256 indexed snapshotId,
        address indexed licensee,
        address indexed payer,
        uint256 price,
        uint256 ownerShare,
        uint256 contributorsShare
    );
    /// @notice A contributor pulled license royalties of a snapshot.
    event RoyaltyClaimed(uint256 indexed snapshotId, address indexed account, uint256 amount);
    /// @notice A snapshot's overstated total weight was corrected to the sum of its contributors root.
    event TotalWeightCorrected(uint256 indexed snapshotId, uint256 asserted, uint256 proven);
    /// @notice `account` withdrew its claimable balance (owner shares, refunded bonds).
    event Claimed(address indexed account, address indexed to, uint256 amount);
    /// @notice The owner withdrew forfeited bonds from the Datanet's pool.
    event PoolWithdrawn(uint256 indexed datanetId, address indexed to, uint256 amount);

    /// @notice No Datanet with this id.
    error UnknownDatanet(uint256 datanetId);
    /// @notice No contribution with this id.
    error UnknownContribution(uint256 contributionId);
    /// @notice No snapshot with this id.
    error UnknownSnapshot(uint256 snapshotId);
    /// @notice Only the Datanet's owner may do this.
    error NotDatanetOwner(uint256 datanetId, address caller);
    /// @notice Only the owner or a curator may curate.
    error NotCurator(uint256 datanetId, address caller);
    /// @notice Basis points above 10000.
    error InvalidBps(uint256 bps);
    /// @notice The bond does not fit in 96 bits.
    error BondTooLarge(uint256 bond);
    /// @notice The zero address is not allowed here.
    error ZeroAddress();
    /// @notice Array lengths differ.
    error LengthMismatch(uint256 expected, uint256 actual);
    /// @notice An empty batch.
    error EmptyBatch();
    /// @notice The content hash is zero.
    error ZeroContentHash();
    /// @notice The content was already submitted to this Datanet.
    error DuplicateContribution(uint256 datanetId, bytes32 contentHash, uint256 existingId);
    /// @notice The contribution is not pending.
    error ContributionNotPending(uint256 contributionId, Status status);
    /// @notice A snapshot needs a chunk root and at least one chunk.
    error EmptySnapshot();
    /// @notice A snapshot cannot cover more contributions than were accepted.
    error SnapshotExceedsAccepted(uint256 datanetId, uint256 contributionCount, uint256 acceptedCount);
    /// @notice The contributors root and total weight must both be set or both be zero.
    error InvalidContributors(bytes32 contributorsRoot, uint256 totalWeight);
    /// @notice `licensee` already holds a license for the snapshot.
    error AlreadyLicensed(uint256 snapshotId, address licensee);
    /// @notice The Merkle proof does not prove (account, weight) in the snapshot.
    error InvalidProof(uint256 snapshotId, address account, uint256 weight);
    /// @notice The claim would take more than the contributors were credited (bad contributors root).
    error RoyaltyExceedsPool(uint256 snapshotId, uint256 requested, uint256 available);
    /// @notice The leaves do not rebuild the snapshot's contributors root.
    error ContributorsRootMismatch(uint256 snapshotId);
    /// @notice The leaves' total is not below the snapshot's total weight: nothing to correct.
    error TotalWeightNotOverstated(uint256 snapshotId, uint256 asserted, uint256 proven);
    /// @notice Nothing to claim.
    error NothingToClaim(address account);
    /// @notice The pool holds less than requested.
    error InsufficientPool(uint256 datanetId, uint256 available, uint256 requested);

    /// @param token_ The payment token for bonds and licenses.
    constructor(IERC20 token_) {
        token = token_;
    }

    modifier onlyDatanetOwner(uint256 datanetId) {
        _checkOwner(datanetId);
        _;
    }

    // ---------------------------------------------------------------- Datanets

    /// @notice Creates a Datanet owned by the caller.
    /// @param metadataURI Where the Datanet's description lives (e.g. an ipfs:// CID).
    /// @param licensePrice Training-license price per snapshot, in wei of the token.
    /// @param ownerBps Owner's share of each license fee in basis points; the rest goes to contributors.
    /// @param bond Bond each contribution locks until curated (0 for none).
    /// @param curators Curator set; empty means owner-curated. The owner can always curate.
    /// @return datanetId The new Datanet's id.
    function createDatanet(
        string calldata metadataURI,
        uint256 licensePrice,
        uint16 ownerBps,
        uint256 bond,
        address[] calldata curators
    ) external returns (uint256 datanetId) {
        if (ownerBps > BPS) revert InvalidBps(ownerBps);
        if (bond > type(uint96).max) revert BondTooLarge(bond);
        datanetId = _nextDatanetId++;
        Datanet storage d = _datanets[datanetId];
        d.owner = msg.sender;
        d.ownerBps = ownerBps;
        d.licensePrice = licensePrice;
        d.bond = bond;
        d.metadataURI = metadataURI;
        emit DatanetCreated(datanetId, msg.sender, metadataURI, licensePrice, ownerBps, bond);
        for (uint256 i = 0; i < curators.length; i++) {
            _setCurator(datanetId, d, curators[i], true);
        }
    }

    /// @notice Sets the metadata URI. Only the owner.
    /// @param datanetId The Datanet.
    /// @param metadataURI New URI.
    function setMetadataURI(uint256 datanetId, string calldata metadataURI) external onlyDatanetOwner(datanetId) {
        _datanets[datanetId].metadataURI = metadataURI;
        emit MetadataURISet(datanetId, metadataURI);
    }

    /// @notice Sets the license terms used by snapshots published from now on. Only the owner.
    /// @param datanetId The Datanet.
    /// @param licensePrice Price per training license in wei.
    /// @param ownerBps Owner's share in basis points.
    function setLicenseTerms(uint256 datanetId, uint256 licensePrice, uint16 ownerBps)
        external
        onlyDatanetOwner(datanetId)
    {
        if (ownerBps > BPS) revert InvalidBps(ownerBps);
        Datanet storage d = _datanets[datanetId];
        d.licensePrice = licensePrice;
        d.ownerBps = ownerBps;
        emit LicenseTermsSet(datanetId, licensePrice, ownerBps);
    }

    /// @notice Sets the bond for future contributions: a lower bond at once, a higher one after
    /// {BOND_NOTICE}, so an owner cannot raise the bond under a submission already sent. Only the owner.
    /// @param datanetId The Datanet.
    /// @param bond Bond in wei (0 for none).
    function setContributionBond(uint256 datanetId, uint256 bond) external onlyDatanetOwner(datanetId) {
        if (bond > type(uint96).max) revert BondTooLarge(bond);
        Datanet storage d = _datanets[datanetId];
        _applyBond(d);
        uint64 effectiveAt = uint64(block.timestamp);
        if (bond <= d.bond) {
            d.bond = bond;
            d.bondEffectiveAt = 0;
        } else {
            effectiveAt += BOND_NOTICE;
            d.pendingBond = uint96(bond);
            d.bondEffectiveAt = effectiveAt;
        }
        emit ContributionBondSet(datanetId, bond, effectiveAt);
    }

    /// @notice Adds or removes a curator. Only the owner.
    /// @param datanetId The Datanet.
    /// @param curator The curator.
    /// @param enabled True to add, false to remove.
    function setCurator(uint256 datanetId, address curator, bool enabled) external onlyDatanetOwner(datanetId) {
        _setCurator(datanetId, _datanets[datanetId], curator, enabled);
    }

    /// @notice Transfers ownership of a Datanet (future owner shares, curation, snapshots). Only the owner.
    /// @param datanetId The Datanet.
    /// @param newOwner The new owner.
    function transferDatanetOwnership(uint256 datanetId, address newOwner) external onlyDatanetOwner(datanetId) {
        if (newOwner == address(0)) revert ZeroAddress();
        _datanets[datanetId].owner = newOwner;
        emit DatanetOwnershipTransferred(datanetId, msg.sender, newOwner);
    }

    /// @notice Withdraws forfeited bonds from the Datanet's pool. Only the owner.
    /// @param datanetId The Datanet.
    /// @param to Receiver.
    /// @param amount Amount in wei.
    function withdrawPool(uint256 datanetId, address to, uint256 amount) external onlyDatanetOwner(datanetId) {
        Datanet storage d = _datanets[datanetId];
        if (amount > d.pool) revert InsufficientPool(datanetId, d.pool, amount);
        d.pool -= amount;
        emit PoolWithdrawn(datanetId, to, amount);
        token.safeTransfer(to, amount);
    }

    // ---------------------------------------------------------------- contributions

    /// @notice Submits one contribution as the caller; pulls the Datanet's bond (approve first).
    /// @param datanetId The Datanet.
    /// @param contentHash keccak256 of the normalised content.
    /// @param byteSize Content size in bytes.
    /// @param license SPDX license id as a left-aligned bytes32 string (e.g. "CC-BY-4.0").
    /// @return contributionId The new contribution's id.
    function submitContribution(uint256 datanetId, bytes32 contentHash, uint64 byteSize, bytes32 license)
        external
        returns (uint256 contributionId)
    {
        Datanet storage d = _datanet(datanetId);
        uint96 bond = _applyBond(d);
        contributionId = _submit(datanetId, d, contentHash, byteSize, license, bond);
        if (bond > 0) token.safeTransferFrom(msg.sender, address(this), bond);
    }

    /// @notice Submits many contributions in one transaction; ids are consecutive from `firstId`.
    /// Pulls the bond for all of them at once.
    /// @param datanetId The Datanet.
    /// @param contentHashes Content hashes.
    /// @param byteSizes Sizes, one per hash.
    /// @param licenses SPDX ids, one per hash.
    /// @return firstId Id of the first contribution.
    function submitContributions(
        uint256 datanetId,
        bytes32[] calldata contentHashes,
        uint64[] calldata byteSizes,
        bytes32[] calldata licenses
    ) external returns (uint256 firstId) {
        uint256 n = contentHashes.length;
        if (n == 0) revert EmptyBatch();
        if (byteSizes.length != n) revert LengthMismatch(n, byteSizes.length);
        if (licenses.length != n) revert LengthMismatch(n, licenses.length);
        Datanet storage d = _datanet(datanetId);
        uint96 bond = _applyBond(d);
        firstId = _nextContributionId;
        for (uint256 i = 0; i < n; i++) {
            _submit(datanetId, d, contentHashes[i], byteSizes[i], licenses[i], bond);
        }
        if (bond > 0) token.safeTransferFrom(msg.sender, address(this), uint256(bond) * n);
    }

    /// @notice Accepts or rejects a pending contribution. Only the owner or a curator.
    /// Accepting credits the bond back to the contributor ({claim}); rejecting moves it to the pool.
    /// @param contributionId The contribution.
    /// @param accept True to accept.
    function curate(uint256 contributionId, bool accept) external {
        Contribution storage c = _contributions[contributionId];
        if (c.status == Status.None) revert UnknownContribution(contributionId);
        uint256 datanetId = c.datanetId;
        Datanet storage d = _datanets[datanetId];
        _checkCurator(datanetId, d);
        _curate(contributionId, c, datanetId, d, accept);
    }

    /// @notice Curates many contributions in one transaction (any Datanets the caller curates).
    /// @param contributionIds The contributions.
    /// @param accepts One decision per contribution.
    function curateBatch(uint256[] calldata contributionIds, bool[] calldata accepts) external {
        uint256 n = contributionIds.length;
        if (n == 0) revert EmptyBatch();
        if (accepts.length != n) revert LengthMismatch(n, accepts.length);
        uint256 checked;
        for (uint256 i = 0; i < n; i++) {
            Contribution storage c = _contributions[contributionIds[i]];
            if (c.status == Status.None) revert UnknownContribution(contributionIds[i]);
            uint256 datanetId = c.datanetId;
            Datanet storage d = _datanets[datanetId];
            if (datanetId != checked) {
                _checkCurator(datanetId, d);
                checked = datanetId;
            }
            _curate(contributionIds[i], c, datanetId, d, accepts[i]);
        }
    }

    // ---------------------------------------------------------------- snapshots and licenses

    /// @notice Publishes the next snapshot version of a Datanet with its current license terms. Only the owner.
    /// @param datanetId The Datanet.
    /// @param chunksRoot Merkle root over the accepted chunks (chunk leaves).
    /// @param chunkCount Number of chunk leaves.
    /// @param contributionCount Number of accepted contributions covered.
    /// @param contributorsRoot Merkle root over (contributor, weight) leaves; zero for no royalties.
    /// @param totalWeight Sum of all weights under `contributorsRoot`.
    /// @param uri Where the snapshot manifest lives.
    /// @return snapshotId The new snapshot's id.
    function publishSnapshot(
        uint256 datanetId,
        bytes32 chunksRoot,
        uint32 chunkCount,
        uint32 contributionCount,
        bytes32 contributorsRoot,
        uint256 totalWeight,
        string calldata uri
    ) external onlyDatanetOwner(datanetId) returns (uint256 snapshotId) {
        Datanet storage d = _datanets[datanetId];
        if (chunksRoot == bytes32(0) || chunkCount == 0) revert EmptySnapshot();
        if (contributionCount > d.acceptedCount) {
            revert SnapshotExceedsAccepted(datanetId, contributionCount, d.acceptedCount);
        }
        if ((contributorsRoot == bytes32(0)) != (totalWeight == 0)) {
            revert InvalidContributors(contributorsRoot, totalWeight);
        }
        snapshotId = _nextSnapshotId++;
        uint32 version = ++d.snapshotCount;
        Snapshot storage s = _snapshots[snapshotId];
        s.datanetId = uint64(datanetId);
        s.version = version;
        s.chunkCount = chunkCount;
        s.contributionCount = contributionCount;
        s.ownerBps = d.ownerBps;
        s.publishedAt = uint64(block.timestamp);
        s.chunksRoot = chunksRoot;
        s.contributorsRoot = contributorsRoot;
        s.totalWeight = totalWeight;
        s.licensePrice = d.licensePrice;
        s.uri = uri;
        _snapshotIds[datanetId][version] = snapshotId;
        emit SnapshotPublished(snapshotId, datanetId, version, chunksRoot, contributorsRoot, totalWeight, uri);
    }

    /// @notice Buys a training license for `snapshotId` on behalf of `licensee`, paid by the caller
    /// (approve the snapshot's price first). The fee is split: `ownerBps` to the owner's claimable
    /// balance, the rest to the snapshot's contributors, rounded down to a multiple of its total weight (the
    /// remainder and, when it has no contributors, everything to the owner).
    /// @param snapshotId The snapshot.
    /// @param licensee Who holds the license (usually the caller).
    /// @return price The amount paid.
    function buyLicense(uint256 snapshotId, address licensee) external returns (uint256 price) {
        Snapshot storage s = _snapshot(snapshotId);
        if (licensee == address(0)) revert ZeroAddress();
        if (_licenses[snapshotId][licensee]) revert AlreadyLicensed(snapshotId, licensee);
        _licenses[snapshotId][licensee] = true;
        s.licenseCount += 1;
        price = s.licensePrice;
        uint256 contributorsShare;
        if (s.totalWeight != 0) {
            contributorsShare = price - (price * s.ownerBps) / BPS;
            contributorsShare -= contributorsShare % s.totalWeight;
        }
        uint256 ownerShare = price - contributorsShare;
        _claimable[_datanets[s.datanetId].owner] += ownerShare;
        s.contributorsPool += contributorsShare;
        emit LicensePurchased(snapshotId, licensee, msg.sender, price, ownerShare, contributorsShare);
        if (price > 0) token.safeTransferFrom(msg.sender, address(this), price);
    }

    /// @notice Pays `account` its royalties from `snapshotId` accrued since its last claim. Anyone may
    /// call it; tokens always go to `account`.
    /// @param snapshotId The snapshot.
    /// @param account The contributor in the snapshot's contributors root.
    /// @param weight The account's weight in that root.
    /// @param proof Merkle proof of the (account, weight) leaf.
    /// @return amount Tokens sent.
    function claimRoyalty(uint256 snapshotId, address account, uint256 weight, bytes32[] calldata proof)
        external
        returns (uint256 amount)
    {
        Snapshot storage s = _snapshot(snapshotId);
        bytes32 leaf = keccak256(bytes.concat(keccak256(abi.encode(account, weight))));
        if (s.contributorsRoot == bytes32(0) || !MerkleProof.verifyCalldata(proof, s.contributorsRoot, leaf)) {
            revert InvalidProof(snapshotId, account, weight);
        }
        uint256 entitled = Math.mulDiv(s.contributorsPool, weight, s.totalWeight);
        uint256 already = _royaltiesClaimed[snapshotId][account];
        if (entitled <= already) revert NothingToClaim(account);
        amount = entitled - already;
        uint256 available = s.contributorsPool - s.royaltiesClaimed;
        if (amount > available) revert RoyaltyExceedsPool(snapshotId, amount, available);
        _royaltiesClaimed[snapshotId][account] = entitled;
        s.royaltiesClaimed += amount;
        emit RoyaltyClaimed(snapshotId, account, amount);
        token.safeTransfer(account, amount);
    }

    /// @notice Corrects a snapshot's total weight when the owner overstated it (which would leave part of
    /// every royalty unclaimable): anyone supplies all (contributor, weight) leaves in tree order (the merkle
    /// package's layout, as the contributors root was built); when they rebuild the root and sum to less
    /// than the recorded total, the total becomes their sum. Cost grows with the leaves (about 1k gas each).
    /// @param snapshotId The snapshot.
    /// @param accounts Every leaf's contributor, in tree order.
    /// @param weights Every leaf's weight.
    function correctTotalWeight(uint256 snapshotId, address[] calldata accounts, uint256[] calldata weights) external {
        Snapshot storage s = _snapshot(snapshotId);
        uint256 n = accounts.length;
        if (n == 0 || weights.length != n) revert LengthMismatch(n, weights.length);
        bytes32[] memory nodes = new bytes32[](2 * n - 1);
        uint256 sum;
        for (uint256 k; k < n; ++k) {
            nodes[2 * n - 2 - k] = keccak256(bytes.concat(keccak256(abi.encode(accounts[k], weights[k]))));
            sum += weights[k];
        }
        for (uint256 i = n - 1; i > 0;) {
            --i;
            (bytes32 a, bytes32 b) = (nodes[2 * i + 1], nodes[2 * i + 2]);
            nodes[i] = a < b ? keccak256(abi.encodePacked(a, b)) : keccak256(abi.encodePacked(b, a));
        }
        if (nodes[0] != s.contributorsRoot) revert ContributorsRootMismatch(snapshotId);
        if (sum == 0 || sum >= s.totalWeight) revert TotalWeightNotOverstated(snapshotId, s.totalWeight, sum);
        emit TotalWeightCorrected(snapshotId, s.totalWeight, sum);
        s.totalWeight = sum;
    }

    /// @notice Withdraws the caller's claimable balance (owner license shares, refunded bonds) to `to`.
    /// @param to Receiver.
    /// @return amount Tokens sent.
    function claim(address to) external returns (uint256 amount) {
        amount = _claimable[msg.sender];
        if (amount == 0) revert NothingToClaim(msg.sender);
        _claimable[msg.sender] = 0;
        emit Claimed(msg.sender, to, amount);
        token.safeTransfer(to, amount);
    }

    // ---------------------------------------------------------------- views

    /// @notice A Datanet's record.
    /// @param datanetId The Datanet.
    /// @return The record (owner zero when unknown).
    function getDatanet(uint256 datanetId) external view returns (Datanet memory) {
        return _datanets[datanetId];
    }

    /// @notice A contribution's record.
    /// @param contributionId The contribution.
    /// @return The record (status None when unknown).
    function getContribution(uint256 contributionId) external view returns (Contribution memory) {
        return _contributions[contributionId];
    }

    /// @notice The contribution id of `contentHash` in a Datanet (0 when none).
    /// @param datanetId The Datanet.
    /// @param contentHash The content hash.
    /// @return The contribution id.
    function contributionIdOf(uint256 datanetId, bytes32 contentHash) external view returns (uint256) {
        return _byHash[datanetId][contentHash];
    }

    /// @notice A snapshot's record.
    /// @param snapshotId The snapshot.
    /// @return The record (version 0 when unknown).
    function getSnapshot(uint256 snapshotId) external view returns (Snapshot memory) {
        return _snapshots[snapshotId];
    }

    /// @notice The snapshot id of a Datanet's version (0 when none).
    /// @param datanetId The Datanet.
    /// @param version Version number, from 1.
    /// @return The snapshot id.
    function snapshotIdOf(uint256 datanetId, uint32 version) external view returns (uint256) {
        return _snapshotIds[datanetId][version];
    }

    /// @inheritdoc IDatanetRegistry
    function snapshotExists(uint256 snapshotId) external view returns (bool) {
        return _snapshots[snapshotId].version != 0;
    }

    /// @inheritdoc IDatanetRegistry
    function contributorOf(uint256 contributionId) external view returns (address) {
        return _contributions[contributionId].contributor;
    }

    /// @inheritdoc IDatanetRegistry
    function snapshotChunksRoot(uint256 snapshotId) external view returns (bytes32) {
        return _snapshots[snapshotId].chunksRoot;
    }

    /// @inheritdoc IDatanetRegistry
    function hasLicense(uint256 snapshotId, address account) external view returns (bool) {
        return _licenses[snapshotId][account];
    }

    /// @notice Whether `account` may curate the Datanet (its owner or a curator).
    /// @param datanetId The Datanet.
    /// @param account The account.
    /// @return True when allowed.
    function isCurator(uint256 datanetId, address account) public view returns (bool) {
        return account == _datanets[datanetId].owner || _curators[datanetId][account];
    }

    /// @notice The balance `account` can withdraw with {claim}.
    /// @param account The account.
    /// @return Amount in wei.
    function claimable(address account) external view returns (uint256) {
        return _claimable[account];
    }

    /// @notice Royalties `account` already pulled from `snapshotId`.
    /// @param snapshotId The snapshot.
    /// @param account The contributor.
    /// @return Amount in wei.
    function royaltiesClaimed(uint256 snapshotId, address account) external view returns (uint256) {
        return _royaltiesClaimed[snapshotId][account];
    }

    // ---------------------------------------------------------------- internals

    function _submit(
        uint256 datanetId,
        Datanet storage d,
        bytes32 contentHash,
        uint64 byteSize,
        bytes32 license,
        uint96 bond
    ) private returns (uint256 contributionId) {
        if (contentHash == bytes32(0)) revert ZeroContentHash();
        uint256 existing = _byHash[datanetId][contentHash];
        if (existing != 0) revert DuplicateContribution(datanetId, contentHash, existing);
        contributionId = _nextContributionId++;
        _byHash[datanetId][contentHash] = contributionId;
        _contributions[contributionId] =
            Contribution(msg.sender, byteSize, Status.Pending, uint64(datanetId), bond, contentHash, license);
        d.contributionCount += 1;
        emit ContributionSubmitted(contributionId, datanetId, msg.sender, contentHash, byteSize, license, bond);
    }

    function _curate(uint256 contributionId, Contribution storage c, uint256 datanetId, Datanet storage d, bool accept)
        private
    {
        if (c.status != Status.Pending) revert ContributionNotPending(contributionId, c.status);
        uint96 bond = c.bond;
        if (accept) {
            c.status = Status.Accepted;
            d.acceptedCount += 1;
            if (bond > 0) _claimable[c.contributor] += bond;
        } else {
            c.status = Status.Rejected;
            if (bond > 0) d.pool += bond;
        }
        emit ContributionCurated(contributionId, datanetId, msg.sender, accept);
    }

    /// @dev Makes a scheduled bond raise current once its notice has passed; returns the current bond.
    function _applyBond(Datanet storage d) private returns (uint96) {
        uint64 effectiveAt = d.bondEffectiveAt;
        if (effectiveAt != 0 && block.timestamp >= effectiveAt) {
            d.bond = d.pendingBond;
            d.bondEffectiveAt = 0;
        }
        return uint96(d.bond);
    }

    function _setCurator(uint256 datanetId, Datanet storage d, address curator, bool enabled) private {
        if (curator == address(0)) revert ZeroAddress();
        if (_curators[datanetId][curator] == enabled) return;
        _curators[datanetId][curator] = enabled;
        if (enabled) d.curatorCount += 1;
        else d.curatorCount -= 1;
        emit CuratorSet(datanetId, curator, enabled);
    }

    function _datanet(uint256 datanetId) private view returns (Datanet storage d) {
        d = _datanets[datanetId];
        if (d.owner == address(0)) revert UnknownDatanet(datanetId);
    }

    function _snapshot(uint256 snapshotId) private view returns (Snapshot storage s) {
        s = _snapshots[snapshotId];
        if (s.version == 0) revert UnknownSnapshot(snapshotId);
    }

    function _checkOwner(uint256 datanetId) private view {
        address owner = _datanet(datanetId).owner;
        if (owner != msg.sender) revert NotDatanetOwner(datanetId, msg.sender);
    }

    function _checkCurator(uint256 datanetId, Datanet storage d) private view {
        if (msg.sender != d.owner && !_curators[datanetId][msg.sender]) revert NotCurator(datanetId, msg.sender);
    }
}
