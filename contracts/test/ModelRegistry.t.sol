// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {DatanetRegistry} from "../src/DatanetRegistry.sol";
import {ModelRegistry} from "../src/ModelRegistry.sol";
import {Fixture} from "./utils/Fixture.sol";

contract ModelRegistryTest is Fixture {
    address dataOwner = makeAddr("dataOwner");
    address builder = makeAddr("builder");
    address stranger = makeAddr("stranger");
    uint256 snapA;
    uint256 snapB;

    function setUp() public {
        deployProtocol();
        fundAndApprove(builder, address(datanets), 1000 ether);
        vm.startPrank(dataOwner);
        uint256 d = datanets.createDatanet("", 10 ether, 10_000, 0, new address[](0));
        uint256 c1 = datanets.submitContribution(d, keccak256("1"), 1, "MIT");
        uint256 c2 = datanets.submitContribution(d, keccak256("2"), 1, "MIT");
        datanets.curate(c1, true);
        datanets.curate(c2, true);
        snapA = datanets.publishSnapshot(d, keccak256("rootA"), 1, 1, bytes32(0), 0, "");
        snapB = datanets.publishSnapshot(d, keccak256("rootB"), 2, 2, bytes32(0), 0, "");
        vm.stopPrank();
    }

    function _input(uint256[] memory snaps) internal pure returns (ModelRegistry.VersionInput memory) {
        return ModelRegistry.VersionInput({
            baseModelHash: keccak256("base"),
            adapterHash: keccak256("adapter"),
            adapterURI: "ipfs://adapter",
            snapshotIds: snaps,
            trainingConfigHash: keccak256("cfg"),
            pricePer1kTokens: 0.01 ether
        });
    }

    function _both() internal view returns (uint256[] memory snaps) {
        snaps = new uint256[](2);
        snaps[0] = snapA;
        snaps[1] = snapB;
    }

    function _register() internal returns (uint256 modelId) {
        vm.prank(builder);
        modelId = models.registerModel("ipfs://card");
    }

    function test_publishVersionWithLicensesRecordsProvenance() public {
        uint256 modelId = _register();
        assertEq(modelId, 1);
        vm.startPrank(builder);
        datanets.buyLicense(snapA, builder);
        datanets.buyLicense(snapB, builder);
        uint32 v = models.publishVersion(modelId, _input(_both()));
        vm.stopPrank();
        assertEq(v, 1);
        ModelRegistry.Version memory rec = models.getVersion(modelId, 1);
        assertEq(rec.baseModelHash, keccak256("base"));
        assertEq(rec.adapterHash, keccak256("adapter"));
        assertEq(rec.trainingConfigHash, keccak256("cfg"));
        assertEq(rec.pricePer1kTokens, 0.01 ether);
        assertEq(rec.adapterURI, "ipfs://adapter");
        assertEq(rec.snapshotIds.length, 2);
        bytes32[] memory roots = models.trainingRoots(modelId, 1);
        assertEq(roots[0], keccak256("rootA"));
        assertEq(roots[1], keccak256("rootB"));
        assertEq(models.getModel(modelId).versionCount, 1);
        assertEq(models.ownerOf(modelId), builder);
        assertTrue(models.isActive(modelId));
    }

    function test_publishNeedsEveryLicense() public {
        uint256 modelId = _register();
        vm.startPrank(builder);
        datanets.buyLicense(snapA, builder);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.MissingLicense.selector, snapB, builder));
        models.publishVersion(modelId, _input(_both()));
        uint256[] memory bogus = new uint256[](1);
        bogus[0] = 99;
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.UnknownSnapshot.selector, 99));
        models.publishVersion(modelId, _input(bogus));
        vm.expectRevert(ModelRegistry.NoTrainingSnapshots.selector);
        models.publishVersion(modelId, _input(new uint256[](0)));
        ModelRegistry.VersionInput memory zero = _input(_both());
        zero.adapterHash = bytes32(0);
        vm.expectRevert(ModelRegistry.ZeroHash.selector);
        models.publishVersion(modelId, zero);
        vm.stopPrank();
    }

    function test_licenseHeldByAnotherAccountDoesNotCount() public {
        uint256 modelId = _register();
        vm.prank(builder);
        datanets.buyLicense(snapA, stranger);
        uint256[] memory one = new uint256[](1);
        one[0] = snapA;
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.MissingLicense.selector, snapA, builder));
        vm.prank(builder);
        models.publishVersion(modelId, _input(one));
    }

    function test_onlyOwnerManagesModel() public {
        uint256 modelId = _register();
        vm.startPrank(stranger);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.NotModelOwner.selector, modelId, stranger));
        models.publishVersion(modelId, _input(_both()));
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.NotModelOwner.selector, modelId, stranger));
        models.retireModel(modelId);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.NotModelOwner.selector, modelId, stranger));
        models.transferModelOwnership(modelId, stranger);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.NotModelOwner.selector, modelId, stranger));
        models.setMetadataURI(modelId, "x");
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.UnknownModel.selector, 5));
        models.retireModel(5);
        vm.stopPrank();
    }

    function test_retireVersionAndModel() public {
        uint256 modelId = _register();
        uint256[] memory one = new uint256[](1);
        one[0] = snapA;
        vm.startPrank(builder);
        datanets.buyLicense(snapA, builder);
        models.publishVersion(modelId, _input(one));
        models.publishVersion(modelId, _input(one));
        models.retireVersion(modelId, 1);
        assertTrue(models.getVersion(modelId, 1).retired);
        assertFalse(models.getVersion(modelId, 2).retired);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.VersionIsRetired.selector, modelId, 1));
        models.retireVersion(modelId, 1);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.UnknownVersion.selector, modelId, 3));
        models.retireVersion(modelId, 3);
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.UnknownVersion.selector, modelId, 0));
        models.getVersion(modelId, 0);
        models.retireModel(modelId);
        assertFalse(models.isActive(modelId));
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.ModelIsRetired.selector, modelId));
        models.publishVersion(modelId, _input(one));
        vm.stopPrank();
    }

    function test_transferOwnership() public {
        uint256 modelId = _register();
        vm.expectRevert(ModelRegistry.ZeroAddress.selector);
        vm.prank(builder);
        models.transferModelOwnership(modelId, address(0));
        vm.prank(builder);
        models.transferModelOwnership(modelId, stranger);
        assertEq(models.ownerOf(modelId), stranger);
        vm.prank(stranger);
        models.setMetadataURI(modelId, "ipfs://v2");
        assertEq(models.getModel(modelId).metadataURI, "ipfs://v2");
        assertFalse(models.isActive(42));
        assertEq(models.ownerOf(42), address(0));
    }

    function testFuzz_versionsRecordPriceAndRejectUnlicensed(uint256 price, uint256 snapshotId) public {
        uint256 modelId = _register();
        vm.prank(builder);
        datanets.buyLicense(snapA, builder);
        uint256[] memory ids = new uint256[](1);
        ids[0] = snapshotId;
        ModelRegistry.VersionInput memory input = _input(ids);
        input.pricePer1kTokens = price;
        vm.prank(builder);
        if (snapshotId == snapA) {
            assertEq(models.publishVersion(modelId, input), 1);
            assertEq(models.getVersion(modelId, 1).pricePer1kTokens, price);
        } else if (snapshotId == snapB) {
            vm.expectRevert(abi.encodeWithSelector(ModelRegistry.MissingLicense.selector, snapB, builder));
            models.publishVersion(modelId, input);
        } else {
            vm.expectRevert(abi.encodeWithSelector(ModelRegistry.UnknownSnapshot.selector, snapshotId));
            models.publishVersion(modelId, input);
        }
    }
}

/// @notice Random model registrations, license purchases and version publications (some unlicensed).
contract ModelHandler is Fixture {
    address[] public builders;
    uint256[] public snaps;
    uint256[] public modelIds;
    mapping(uint256 modelId => address) public publisher;
    mapping(uint256 modelId => uint32) public published;

    constructor() {
        deployProtocol();
        address dataOwner = makeAddr("dataOwner");
        vm.startPrank(dataOwner);
        uint256 d = datanets.createDatanet("", 1 ether, 10_000, 0, new address[](0));
        datanets.curate(datanets.submitContribution(d, keccak256("1"), 1, "MIT"), true);
        for (uint256 i = 0; i < 4; i++) {
            snaps.push(datanets.publishSnapshot(d, keccak256(abi.encode(i)), 1, 1, bytes32(0), 0, ""));
        }
        vm.stopPrank();
        for (uint256 i = 0; i < 3; i++) {
            builders.push(address(uint160(0xB0 + i)));
            fundAndApprove(builders[i], address(datanets), 1000 ether);
        }
    }

    function modelCount() external view returns (uint256) {
        return modelIds.length;
    }

    function register(uint256 who) external {
        address b = builders[who % 3];
        vm.prank(b);
        uint256 id = models.registerModel("");
        modelIds.push(id);
        publisher[id] = b;
    }

    function license(uint256 who, uint256 snap) external {
        address b = builders[who % 3];
        uint256 id = snaps[snap % snaps.length];
        if (datanets.hasLicense(id, b)) return;
        vm.prank(b);
        datanets.buyLicense(id, b);
    }

    function publish(uint256 modelSeed, uint8 mask) external {
        if (modelIds.length == 0) return;
        uint256 modelId = modelIds[modelSeed % modelIds.length];
        uint256 count;
        for (uint256 i = 0; i < snaps.length; i++) {
            if (mask & (1 << i) != 0) count++;
        }
        uint256[] memory ids = new uint256[](count);
        count = 0;
        for (uint256 i = 0; i < snaps.length; i++) {
            if (mask & (1 << i) != 0) ids[count++] = snaps[i];
        }
        vm.prank(publisher[modelId]);
        try models.publishVersion(
            modelId, ModelRegistry.VersionInput(keccak256("b"), keccak256("a"), "", ids, bytes32(0), 1)
        ) {
            published[modelId]++;
        } catch {}
    }

    function retire(uint256 modelSeed) external {
        if (modelIds.length == 0) return;
        uint256 modelId = modelIds[modelSeed % modelIds.length];
        if (!models.isActive(modelId)) return;
        vm.prank(publisher[modelId]);
        models.retireModel(modelId);
    }

    function registryAddr() external view returns (ModelRegistry, address) {
        return (models, address(datanets));
    }
}

contract ModelRegistryInvariantTest is Fixture {
    ModelHandler handler;
    ModelRegistry registry;
    address datanetsAddr;

    function setUp() public {
        handler = new ModelHandler();
        (registry, datanetsAddr) = handler.registryAddr();
        targetContract(address(handler));
    }

    /// forge-config: default.invariant.fail-on-revert = true
    function invariant_everyVersionIsLicensedAndCounted() public view {
        for (uint256 m = 0; m < handler.modelCount(); m++) {
            uint256 modelId = handler.modelIds(m);
            ModelRegistry.Model memory model = registry.getModel(modelId);
            assertEq(model.versionCount, handler.published(modelId));
            for (uint32 v = 1; v <= model.versionCount; v++) {
                uint256[] memory ids = registry.getVersion(modelId, v).snapshotIds;
                assertGt(ids.length, 0);
                for (uint256 i = 0; i < ids.length; i++) {
                    assertTrue(DatanetRegistry(datanetsAddr).hasLicense(ids[i], model.owner));
                }
            }
        }
    }
}
