// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {DatanetRegistry} from "../src/DatanetRegistry.sol";
import {Fixture} from "./utils/Fixture.sol";
import {Merkle} from "./utils/Merkle.sol";
import {Records} from "./utils/Records.sol";

contract DatanetRegistryTest is Fixture {
    address owner = makeAddr("owner");
    address curator = makeAddr("curator");
    address alice = makeAddr("alice");
    address bob = makeAddr("bob");
    address carol = makeAddr("carol");
    address buyer = makeAddr("buyer");
    bytes32 constant CC_BY = bytes32("CC-BY-4.0");

    function setUp() public {
        deployProtocol();
        address[4] memory who = [alice, bob, carol, buyer];
        for (uint256 i = 0; i < who.length; i++) {
            fundAndApprove(who[i], address(datanets), 1_000_000 ether);
        }
    }

    function _create(uint256 price, uint16 ownerBps, uint256 bond) internal returns (uint256 id) {
        address[] memory curators = new address[](1);
        curators[0] = curator;
        vm.prank(owner);
        id = datanets.createDatanet("ipfs://meta", price, ownerBps, bond, curators);
    }

    function _submit(address who, uint256 datanetId, bytes32 hash) internal returns (uint256 id) {
        vm.prank(who);
        id = datanets.submitContribution(datanetId, hash, 100, CC_BY);
    }

    function _accept(uint256 id) internal {
        vm.prank(curator);
        datanets.curate(id, true);
    }

    function test_createDatanetRecordsTermsAndIds() public {
        uint256 id = _create(100 ether, 2000, 1 ether);
        assertEq(id, 1);
        DatanetRegistry.Datanet memory d = datanets.getDatanet(id);
        assertEq(d.owner, owner);
        assertEq(d.licensePrice, 100 ether);
        assertEq(d.ownerBps, 2000);
        assertEq(d.bond, 1 ether);
        assertEq(d.curatorCount, 1);
        assertEq(d.metadataURI, "ipfs://meta");
        assertTrue(datanets.isCurator(id, curator));
        assertTrue(datanets.isCurator(id, owner));
        assertFalse(datanets.isCurator(id, alice));
        assertEq(_create(0, 0, 0), 2);
    }

    function test_createRejectsBadTerms() public {
        address[] memory none = new address[](0);
        vm.expectRevert(abi.encodeWithSelector(DatanetRegistry.InvalidBps.selector, 10_001));
        datanets.createDatanet("", 0, 10_001, 0, none);
        vm.expectRevert(abi.encodeWithSelector(DatanetRegistry.BondTooLarge.selector, type(uint256).max));
        datanets.createDatanet("", 0, 0, type(uint256).max, none);
    }

    function test_ownerOnlySetters() public {
        uint256 id = _create(1, 1, 0);
        vm.startPrank(alice);
        vm.expectRevert(abi.encodeWithSelector(DatanetRegistry.NotDatanetOwner.selector, id, alice));
        datanets.setLicenseTerms(id, 5, 5);
        vm.expectRevert(abi.encodeWithSelector(DatanetRegistry.NotDatanetOwner.selector, id, alice));
        datanets.setCurator(id, alice, true);
        vm.expectRevert(abi.encodeWithSelector(DatanetRegistry.NotDatanetOwner.selector, id, alice));
        datanets.transferDatanetOwnership(id, alice);
        vm.expectRevert(abi.encodeWithSelector(DatanetRegistry.NotDatanetOwner.selector, id, alice));
        datanets.setContributionBond(id, 1);
        vm.expectRevert(abi.encodeWithSelector(DatanetRegistry.NotDatanetOwner.selector, id, alice));
        datanets.setMetadataURI(id, "x");
        vm.stopPrank();
        vm.expectRevert(abi.encodeWithSelector(DatanetRegistry.UnknownDatanet.selector, 99));
        datanets.setMetadataURI(99, "x");

        vm.startPrank(owner);
        datanets.setLicenseTerms(id, 5 ether, 500);
        datanets.setContributionBond(id, 2 ether);
        datanets.setMetadataURI(id, "ipfs://new");
        datanets.transferDatanetOwnership(id, bob);
        vm.stopPrank();
        DatanetRegistry.Datanet memory d = datanets.getDatanet(id);
        assertEq(d.owner, bob);
        assertEq(d.licensePrice, 5 ether);
        assertEq(d.ownerBps, 500);
        assertEq(d.bond, 0); // a raise waits out the notice
        assertEq(d.pendingBond, 2 ether);
        assertEq(d.bondEffectiveAt, block.timestamp + datanets.BOND_NOTICE());
        assertEq(d.metadataURI, "ipfs://new");
    }

    /// Issue 18.7: a bond raise cannot land under a submission already sent; a cut applies at once.
    function test_bondRaiseWaitsOutTheNotice() public {
        uint256 id = _create(0, 0, 1 ether);
        vm.prank(owner);
        datanets.setContributionBond(id, 50_000 ether); // front-running the submission below
        uint256 before = token.balanceOf(alice);
        uint256 c = _submit(alice, id, keccak256("text"));
        assertEq(before - token.balanceOf(alice), 1 ether);
        assertEq(datanets.getContribution(c).bond, 1 ether);
        vm.prank(owner);
        datanets.curate(c, false);
        assertEq(datanets.getDatanet(id).pool, 1 ether);
        vm.warp(block.timestamp + datanets.BOND_NOTICE());
        before = token.balanceOf(bob);
        _submit(bob, id, keccak256("later"));
        assertEq(before - token.balanceOf(bob), 50_000 ether);
        assertEq(datanets.getDatanet(id).bond, 50_000 ether);
        vm.prank(owner);
        datanets.setContributionBond(id, 3 ether);
        assertEq(datanets.getDatanet(id).bond, 3 ether);
        assertEq(datanets.getDatanet(id).bondEffectiveAt, 0);
        before = token.balanceOf(bob);
        _submit(bob, id, keccak256("cheaper"));
        assertEq(before - token.balanceOf(bob), 3 ether);
    }

    function test_submitPullsBondAndRejectsDuplicates() public {
        uint256 id = _create(0, 0, 1 ether);
        uint256 before = token.balanceOf(alice);
        uint256 c = _submit(alice, id, keccak256("a"));
        assertEq(before - token.balanceOf(alice), 1 ether);
        DatanetRegistry.Contribution memory rec = datanets.getContribution(c);
        assertEq(rec.contributor, alice);
        assertEq(rec.contentHash, keccak256("a"));
        assertEq(rec.byteSize, 100);
        assertEq(rec.license, CC_BY);
        assertEq(uint8(rec.status), uint8(DatanetRegistry.Status.Pending));
        assertEq(datanets.contributionIdOf(id, keccak256("a")), c);
        vm.expectRevert(abi.encodeWithSelector(DatanetRegistry.DuplicateContribution.selector, id, keccak256("a"), c));
        _submit(bob, id, keccak256("a"));
        vm.expectRevert(DatanetRegistry.ZeroContentHash.selector);
        _submit(bob, id, bytes32(0));
        vm.expectRevert(abi.encodeWithSelector(DatanetRegistry.UnknownDatanet.selector, 7));
        _submit(bob, 7, keccak256("b"));
    }

    function test_curationRefundsOrForfeitsBond() public {
        uint256 id = _create(0, 0, 1 ether);
        uint256 a = _submit(alice, id, keccak256("a"));
        uint256 b = _submit(bob, id, keccak256("b"));
        vm.expectRevert(abi.encodeWithSelector(DatanetRegistry.NotCurator.selector, id, carol));
        vm.prank(carol);
        datanets.curate(a, true);
        _accept(a);
        vm.prank(owner);
        datanets.curate(b, false);
        assertEq(datanets.claimable(alice), 1 ether);
        assertEq(datanets.getDatanet(id).pool, 1 ether);
        assertEq(datanets.getDatanet(id).acceptedCount, 1);
        vm.expectRevert(
            abi.encodeWithSelector(DatanetRegistry.ContributionNotPending.selector, a, DatanetRegistry.Status.Accepted)
        );
        _accept(a);
        vm.expectRevert(abi.encodeWithSelector(DatanetRegistry.UnknownContribution.selector, 42));
        datanets.curate(42, true);

        vm.prank(alice);
        datanets.claim(alice);
        vm.expectRevert(abi.encodeWithSelector(DatanetRegistry.NothingToClaim.selector, alice));
        vm.prank(alice);
        datanets.claim(alice);

        vm.expectRevert(abi.encodeWithSelector(DatanetRegistry.InsufficientPool.selector, id, 1 ether, 2 ether));
        vm.prank(owner);
        datanets.withdrawPool(id, owner, 2 ether);
        vm.prank(owner);
        datanets.withdrawPool(id, owner, 1 ether);
        assertEq(token.balanceOf(owner), 1 ether);
    }

    function test_removedCuratorCannotCurate() public {
        uint256 id = _create(0, 0, 0);
        uint256 a = _submit(alice, id, keccak256("a"));
        vm.prank(owner);
        datanets.setCurator(id, curator, false);
        assertEq(datanets.getDatanet(id).curatorCount, 0);
        vm.expectRevert(abi.encodeWithSelector(DatanetRegistry.NotCurator.selector, id, curator));
        vm.prank(curator);
        datanets.curate(a, true);
    }

    function test_batchSubmitAndCurate() public {
        uint256 id = _create(0, 0, 0.1 ether);
        uint256 n = 50;
        bytes32[] memory hashes = new bytes32[](n);
        uint64[] memory sizes = new uint64[](n);
        bytes32[] memory licenses = new bytes32[](n);
        for (uint256 i = 0; i < n; i++) {
            hashes[i] = keccak256(abi.encode(i));
            sizes[i] = uint64(i + 1);
            licenses[i] = CC_BY;
        }
        uint256 before = token.balanceOf(alice);
        vm.prank(alice);
        uint256 first = datanets.submitContributions(id, hashes, sizes, licenses);
        assertEq(before - token.balanceOf(alice), 5 ether);
        assertEq(datanets.getContribution(first + n - 1).contentHash, hashes[n - 1]);

        uint256[] memory ids = new uint256[](n);
        bool[] memory accepts = new bool[](n);
        for (uint256 i = 0; i < n; i++) {
            ids[i] = first + i;
            accepts[i] = i % 5 != 0;
        }
        vm.prank(curator);
        datanets.curateBatch(ids, accepts);
        assertEq(datanets.getDatanet(id).acceptedCount, 40);
        assertEq(datanets.claimable(alice), 4 ether);
        assertEq(datanets.getDatanet(id).pool, 1 ether);
    }

    function test_batchInputValidation() public {
        uint256 id = _create(0, 0, 0);
        bytes32[] memory hashes = new bytes32[](2);
        uint64[] memory sizes = new uint64[](1);
        bytes32[] memory licenses = new bytes32[](2);
        vm.expectRevert(abi.encodeWithSelector(DatanetRegistry.LengthMismatch.selector, 2, 1));
        datanets.submitContributions(id, hashes, sizes, licenses);
        vm.expectRevert(DatanetRegistry.EmptyBatch.selector);
        datanets.submitContributions(id, new bytes32[](0), new uint64[](0), new bytes32[](0));
        hashes[0] = keccak256("x");
        hashes[1] = keccak256("x");
        sizes = new uint64[](2);
        vm.expectRevert(abi.encodeWithSelector(DatanetRegistry.DuplicateContribution.selector, id, keccak256("x"), 1));
        datanets.submitContributions(id, hashes, sizes, licenses);
        vm.expectRevert(DatanetRegistry.EmptyBatch.selector);
        datanets.curateBatch(new uint256[](0), new bool[](0));
    }

    function test_batchCurateChecksEachDatanet() public {
        uint256 d1 = _create(0, 0, 0);
        vm.prank(carol);
        uint256 d2 = datanets.createDatanet("", 0, 0, 0, new address[](0));
        uint256[] memory ids = new uint256[](2);
        ids[0] = _submit(alice, d1, keccak256("1"));
        ids[1] = _submit(alice, d2, keccak256("2"));
        vm.expectRevert(abi.encodeWithSelector(DatanetRegistry.NotCurator.selector, d2, curator));
        vm.prank(curator);
        datanets.curateBatch(ids, new bool[](2));
    }

    // ------------------------------------------------------------ snapshots, licenses, royalties

    struct Setup {
        uint256 datanetId;
        uint256 snapshotId;
        bytes32[] leaves;
    }

    /// alice weight 1, bob weight 2, carol weight 3 (total 6)
    function _published(uint256 price, uint16 ownerBps) internal returns (Setup memory s) {
        s.datanetId = _create(price, ownerBps, 0);
        address[3] memory who = [alice, bob, carol];
        for (uint256 i = 0; i < 3; i++) {
            _accept(_submit(who[i], s.datanetId, keccak256(abi.encode("c", i))));
        }
        s.leaves = new bytes32[](3);
        for (uint256 i = 0; i < 3; i++) {
            s.leaves[i] = Merkle.payoutLeaf(who[i], i + 1);
        }
        vm.prank(owner);
        s.snapshotId =
            datanets.publishSnapshot(s.datanetId, keccak256("chunks"), 3, 3, Merkle.root(s.leaves), 6, "ipfs://snap");
    }

    function test_publishSnapshotVersionsPerDatanet() public {
        Setup memory s = _published(60 ether, 1000);
        DatanetRegistry.Snapshot memory snap = datanets.getSnapshot(s.snapshotId);
        assertEq(snap.version, 1);
        assertEq(snap.datanetId, s.datanetId);
        assertEq(snap.licensePrice, 60 ether);
        assertEq(snap.ownerBps, 1000);
        assertEq(snap.chunkCount, 3);
        assertTrue(datanets.snapshotExists(s.snapshotId));
        assertEq(datanets.snapshotChunksRoot(s.snapshotId), keccak256("chunks"));
        vm.prank(owner);
        uint256 second = datanets.publishSnapshot(s.datanetId, keccak256("c2"), 1, 1, bytes32(0), 0, "");
        assertEq(datanets.getSnapshot(second).version, 2);
        assertEq(datanets.snapshotIdOf(s.datanetId, 2), second);
        assertEq(datanets.snapshotIdOf(s.datanetId, 3), 0);
    }

    function test_publishSnapshotValidation() public {
        Setup memory s = _published(0, 0);
        vm.startPrank(owner);
        vm.expectRevert(DatanetRegistry.EmptySnapshot.selector);
        datanets.publishSnapshot(s.datanetId, bytes32(0), 1, 1, bytes32(0), 0, "");
        vm.expectRevert(abi.encodeWithSelector(DatanetRegistry.SnapshotExceedsAccepted.selector, s.datanetId, 4, 3));
        datanets.publishSnapshot(s.datanetId, keccak256("r"), 1, 4, bytes32(0), 0, "");
        vm.expectRevert(abi.encodeWithSelector(DatanetRegistry.InvalidContributors.selector, bytes32(0), 5));
        datanets.publishSnapshot(s.datanetId, keccak256("r"), 1, 1, bytes32(0), 5, "");
        vm.stopPrank();
        vm.expectRevert(abi.encodeWithSelector(DatanetRegistry.NotDatanetOwner.selector, s.datanetId, curator));
        vm.prank(curator);
        datanets.publishSnapshot(s.datanetId, keccak256("r"), 1, 1, bytes32(0), 0, "");
    }

    function test_licenseSplitsFeeAndContributorsPull() public {
        Setup memory s = _published(60 ether, 1000);
        vm.prank(buyer);
        uint256 paid = datanets.buyLicense(s.snapshotId, buyer);
        assertEq(paid, 60 ether);
        assertTrue(datanets.hasLicense(s.snapshotId, buyer));
        assertFalse(datanets.hasLicense(s.snapshotId, alice));
        assertEq(datanets.claimable(owner), 6 ether);

        datanets.claimRoyalty(s.snapshotId, carol, 3, Merkle.proof(s.leaves, 2));
        assertEq(token.balanceOf(carol), 1_000_000 ether + 27 ether);
        vm.expectRevert(abi.encodeWithSelector(DatanetRegistry.NothingToClaim.selector, carol));
        datanets.claimRoyalty(s.snapshotId, carol, 3, Merkle.proof(s.leaves, 2));

        // a later sale accrues to contributors again
        vm.prank(alice);
        datanets.buyLicense(s.snapshotId, alice);
        datanets.claimRoyalty(s.snapshotId, carol, 3, Merkle.proof(s.leaves, 2));
        assertEq(datanets.royaltiesClaimed(s.snapshotId, carol), 54 ether);
        datanets.claimRoyalty(s.snapshotId, bob, 2, Merkle.proof(s.leaves, 1));
        datanets.claimRoyalty(s.snapshotId, alice, 1, Merkle.proof(s.leaves, 0));
        assertEq(datanets.getSnapshot(s.snapshotId).royaltiesClaimed, 108 ether);
        assertEq(token.balanceOf(address(datanets)), 12 ether);
    }

    function test_royaltyRejectsBadProofsAndWeights() public {
        Setup memory s = _published(60 ether, 1000);
        vm.prank(buyer);
        datanets.buyLicense(s.snapshotId, buyer);
        bytes32[] memory proof = Merkle.proof(s.leaves, 2);
        vm.expectRevert(abi.encodeWithSelector(DatanetRegistry.InvalidProof.selector, s.snapshotId, carol, 6));
        datanets.claimRoyalty(s.snapshotId, carol, 6, proof);
        vm.expectRevert(abi.encodeWithSelector(DatanetRegistry.InvalidProof.selector, s.snapshotId, buyer, 3));
        datanets.claimRoyalty(s.snapshotId, buyer, 3, proof);
        vm.expectRevert(abi.encodeWithSelector(DatanetRegistry.InvalidProof.selector, s.snapshotId, carol, 3));
        datanets.claimRoyalty(s.snapshotId, carol, 3, new bytes32[](0));
        vm.expectRevert(abi.encodeWithSelector(DatanetRegistry.UnknownSnapshot.selector, 77));
        datanets.claimRoyalty(77, carol, 3, proof);
    }

    /// Issue 18.10: an overstated total weight no longer locks royalties: anyone proves the true total.
    function test_overstatedTotalWeightIsCorrectedByTheLeaves() public {
        uint256 id = _create(100 ether, 0, 0);
        _accept(_submit(alice, id, keccak256("a")));
        _accept(_submit(bob, id, keccak256("b")));
        address[] memory accounts = new address[](3);
        (accounts[0], accounts[1], accounts[2]) = (alice, bob, carol);
        uint256[] memory weights = new uint256[](3);
        (weights[0], weights[1], weights[2]) = (1, 2, 2);
        bytes32[] memory leaves = new bytes32[](3);
        for (uint256 i; i < 3; ++i) {
            leaves[i] = Merkle.payoutLeaf(accounts[i], weights[i]);
        }
        bytes32 root = Records.debitsRoot(leaves); // the merkle package's layout
        vm.prank(owner);
        uint256 snap = datanets.publishSnapshot(id, keccak256("chunks"), 2, 2, root, 1_000, "");
        vm.prank(buyer);
        datanets.buyLicense(snap, buyer);
        weights[2] = 3;
        vm.expectRevert(abi.encodeWithSelector(DatanetRegistry.ContributorsRootMismatch.selector, snap));
        datanets.correctTotalWeight(snap, accounts, weights);
        weights[2] = 2;
        vm.expectRevert(abi.encodeWithSelector(DatanetRegistry.LengthMismatch.selector, 3, 2));
        datanets.correctTotalWeight(snap, accounts, new uint256[](2));
        datanets.correctTotalWeight(snap, accounts, weights);
        assertEq(datanets.getSnapshot(snap).totalWeight, 5);
        vm.expectRevert(abi.encodeWithSelector(DatanetRegistry.TotalWeightNotOverstated.selector, snap, 5, 5));
        datanets.correctTotalWeight(snap, accounts, weights);
        uint256 pool = datanets.getSnapshot(snap).contributorsPool;
        for (uint256 i; i < 3; ++i) {
            datanets.claimRoyalty(snap, accounts[i], weights[i], Records.debitProof(leaves, i));
        }
        assertEq(datanets.getSnapshot(snap).royaltiesClaimed, pool); // nothing locked
    }

    function test_overweightRootCannotDrainOtherSnapshots() public {
        uint256 id = _create(10 ether, 0, 0);
        _accept(_submit(alice, id, keccak256("z")));
        bytes32[] memory leaves = new bytes32[](2);
        leaves[0] = Merkle.payoutLeaf(alice, 10);
        leaves[1] = Merkle.payoutLeaf(bob, 10);
        vm.prank(owner);
        uint256 snap = datanets.publishSnapshot(id, keccak256("r"), 1, 1, Merkle.root(leaves), 10, "");
        Setup memory other = _published(60 ether, 0);
        vm.prank(buyer);
        datanets.buyLicense(other.snapshotId, buyer);
        vm.prank(buyer);
        datanets.buyLicense(snap, buyer);
        datanets.claimRoyalty(snap, alice, 10, Merkle.proof(leaves, 0));
        vm.expectRevert(abi.encodeWithSelector(DatanetRegistry.RoyaltyExceedsPool.selector, snap, 10 ether, 0));
        datanets.claimRoyalty(snap, bob, 10, Merkle.proof(leaves, 1));
    }

    function test_licenseEdgeCases() public {
        Setup memory s = _published(60 ether, 1000);
        vm.prank(buyer);
        datanets.buyLicense(s.snapshotId, buyer);
        vm.expectRevert(abi.encodeWithSelector(DatanetRegistry.AlreadyLicensed.selector, s.snapshotId, buyer));
        vm.prank(buyer);
        datanets.buyLicense(s.snapshotId, buyer);
        vm.expectRevert(DatanetRegistry.ZeroAddress.selector);
        datanets.buyLicense(s.snapshotId, address(0));
        vm.expectRevert(abi.encodeWithSelector(DatanetRegistry.UnknownSnapshot.selector, 0));
        datanets.buyLicense(0, buyer);
        address poor = makeAddr("poor");
        vm.expectRevert();
        vm.prank(poor);
        datanets.buyLicense(s.snapshotId, poor);
        assertFalse(datanets.hasLicense(s.snapshotId, poor));
    }

    function test_snapshotWithoutContributorsPaysOwnerAll() public {
        uint256 id = _create(10 ether, 100, 0);
        _accept(_submit(alice, id, keccak256("q")));
        vm.prank(owner);
        uint256 snap = datanets.publishSnapshot(id, keccak256("r"), 1, 1, bytes32(0), 0, "");
        vm.prank(buyer);
        datanets.buyLicense(snap, buyer);
        assertEq(datanets.claimable(owner), 10 ether);
    }

    function testFuzz_licenseSplitConserves(uint256 price, uint16 ownerBps) public {
        price = bound(price, 0, 1_000_000 ether);
        ownerBps = uint16(bound(ownerBps, 0, 10_000));
        Setup memory s = _published(price, ownerBps);
        vm.prank(buyer);
        datanets.buyLicense(s.snapshotId, buyer);
        address[3] memory who = [alice, bob, carol];
        uint256 paidOut;
        for (uint256 i = 0; i < 3; i++) {
            uint256 before = token.balanceOf(who[i]);
            try datanets.claimRoyalty(s.snapshotId, who[i], i + 1, Merkle.proof(s.leaves, i)) {} catch {}
            paidOut += token.balanceOf(who[i]) - before;
        }
        uint256 ownerShare = datanets.claimable(owner);
        // the owner gets its bps share plus the dust (under totalWeight = 6 wei); the pool pays out exactly
        assertGe(ownerShare, (price * ownerBps) / 10_000);
        assertLt(ownerShare - (price * ownerBps) / 10_000, 6);
        assertEq(ownerShare + paidOut, price);
        assertEq(
            datanets.getSnapshot(s.snapshotId).royaltiesClaimed, datanets.getSnapshot(s.snapshotId).contributorsPool
        );
    }
}

/// @notice Random submissions, curation, snapshots, license sales and claims on one Datanet.
contract DatanetHandler is Fixture {
    uint256 public datanetId;
    address public owner = makeAddr("dnOwner");
    address[] public contributors;
    uint256[] public snapshots;
    uint256[] internal pending;
    bytes32[] internal leaves;
    uint256 public pendingBonds;
    uint256 public royaltiesPaid;
    uint256 public licenseRevenue;
    uint256 internal nonce;

    constructor() {
        deployProtocol();
        for (uint256 i = 0; i < 3; i++) {
            contributors.push(address(uint160(0xC0 + i)));
            fundAndApprove(contributors[i], address(datanets), 1e6 ether);
            leaves.push(Merkle.payoutLeaf(contributors[i], i + 1));
        }
        fundAndApprove(address(this), address(datanets), 1e8 ether);
        vm.prank(owner);
        datanetId = datanets.createDatanet("", 3 ether, 2500, 1 ether, new address[](0));
    }

    function contributorCount() external view returns (uint256) {
        return contributors.length;
    }

    function snapshotCount() external view returns (uint256) {
        return snapshots.length;
    }

    function submit(uint256 who) external {
        address c = contributors[who % 3];
        vm.prank(c);
        pending.push(datanets.submitContribution(datanetId, keccak256(abi.encode(nonce++)), 10, "MIT"));
        pendingBonds += 1 ether;
    }

    function curate(uint256 seed, bool accept) external {
        if (pending.length == 0) return;
        uint256 i = seed % pending.length;
        vm.prank(owner);
        datanets.curate(pending[i], accept);
        pending[i] = pending[pending.length - 1];
        pending.pop();
        pendingBonds -= 1 ether;
    }

    function publish(uint256 price) external {
        DatanetRegistry.Datanet memory d = datanets.getDatanet(datanetId);
        if (d.acceptedCount == 0) return;
        vm.startPrank(owner);
        datanets.setLicenseTerms(datanetId, bound(price, 0, 1e24), 2500);
        snapshots.push(
            datanets.publishSnapshot(datanetId, keccak256(abi.encode(nonce++)), 1, 1, Merkle.root(leaves), 6, "")
        );
        vm.stopPrank();
    }

    function buy(uint256 seed) external {
        if (snapshots.length == 0) return;
        uint256 id = snapshots[seed % snapshots.length];
        address licensee = address(uint160(0x1000 + nonce++));
        licenseRevenue += datanets.buyLicense(id, licensee);
    }

    function claimRoyalty(uint256 seed, uint256 who) external {
        if (snapshots.length == 0) return;
        uint256 id = snapshots[seed % snapshots.length];
        uint256 i = who % 3;
        try datanets.claimRoyalty(id, contributors[i], i + 1, Merkle.proof(leaves, i)) returns (uint256 amount) {
            royaltiesPaid += amount;
        } catch {}
    }

    function claim(uint256 who) external {
        address a = who % 4 == 3 ? owner : contributors[who % 4];
        if (datanets.claimable(a) == 0) return;
        vm.prank(a);
        datanets.claim(a);
    }

    function withdrawPool(uint256 amount) external {
        amount = bound(amount, 0, datanets.getDatanet(datanetId).pool);
        vm.prank(owner);
        datanets.withdrawPool(datanetId, owner, amount);
    }

    function registry() external view returns (DatanetRegistry) {
        return datanets;
    }

    function tokenBalanceOfRegistry() external view returns (uint256) {
        return token.balanceOf(address(datanets));
    }
}

contract DatanetRegistryInvariantTest is Fixture {
    DatanetHandler handler;
    DatanetRegistry registry;

    function setUp() public {
        handler = new DatanetHandler();
        registry = handler.registry();
        targetContract(address(handler));
    }

    /// forge-config: default.invariant.fail-on-revert = true
    function invariant_registryHoldsEveryOwedToken() public view {
        uint256 owed = handler.pendingBonds() + registry.getDatanet(handler.datanetId()).pool;
        owed += registry.claimable(handler.owner());
        for (uint256 i = 0; i < handler.contributorCount(); i++) {
            owed += registry.claimable(handler.contributors(i));
        }
        uint256 sold;
        for (uint256 i = 0; i < handler.snapshotCount(); i++) {
            DatanetRegistry.Snapshot memory s = registry.getSnapshot(handler.snapshots(i));
            assertLe(s.royaltiesClaimed, s.contributorsPool);
            owed += s.contributorsPool - s.royaltiesClaimed;
            sold += s.contributorsPool;
        }
        assertEq(handler.tokenBalanceOfRegistry(), owed);
        assertLe(sold, handler.licenseRevenue());
    }
}
