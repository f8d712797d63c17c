// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {console} from "forge-std/Test.sol";
import {ModelRegistry} from "../src/ModelRegistry.sol";
import {Fixture} from "./utils/Fixture.sol";

/// @notice Per-item gas of the batch paths on cold storage (printed with -vv) and bounds that keep a 100k-contribution
/// Datanet within a few hundred 30M-gas transactions.
contract GasTest is Fixture {
    uint256 constant N = 200;
    address owner = makeAddr("owner");
    uint256 submitEach;
    uint256 curateEach;
    uint256 postEach;

    function _datanetAndModel() internal returns (uint256 modelId) {
        bytes32[] memory hashes = new bytes32[](N);
        uint64[] memory sizes = new uint64[](N);
        bytes32[] memory licenses = new bytes32[](N);
        uint256[] memory ids = new uint256[](N);
        bool[] memory accepts = new bool[](N);
        for (uint256 i = 0; i < N; i++) {
            hashes[i] = keccak256(abi.encode(i));
            sizes[i] = 512;
            licenses[i] = "CC-BY-4.0";
            ids[i] = i + 1;
            accepts[i] = true;
        }
        vm.startPrank(owner);
        uint256 d = datanets.createDatanet("", 0, 0, 0, new address[](0));
        vm.cool(address(datanets));
        uint256 g = gasleft();
        datanets.submitContributions(d, hashes, sizes, licenses);
        submitEach = (g - gasleft()) / N;
        vm.cool(address(datanets));
        g = gasleft();
        datanets.curateBatch(ids, accepts);
        curateEach = (g - gasleft()) / N;
        uint256[] memory snaps = new uint256[](1);
        snaps[0] = datanets.publishSnapshot(d, keccak256("r"), uint32(N), uint32(N), bytes32(0), 0, "");
        datanets.buyLicense(snaps[0], owner);
        modelId = models.registerModel("");
        models.publishVersion(modelId, ModelRegistry.VersionInput(keccak256("b"), keccak256("a"), "", snaps, 0, 1));
        vm.stopPrank();
    }

    function _settle(uint256 modelId) internal {
        address operator = makeAddr("operator");
        fundAndApprove(operator, address(staking), MIN_STAKE);
        vm.prank(operator);
        staking.stake(operator, MIN_STAKE);
        address[] memory accounts = new address[](N);
        uint256[] memory debits = new uint256[](N);
        for (uint256 i = 0; i < N; i++) {
            accounts[i] = address(uint160(0x10000 + i));
            debits[i] = 1 ether;
            fundAndApprove(accounts[i], address(settlement), 1 ether);
            vm.prank(accounts[i]);
            settlement.deposit(1 ether);
        }
        (,,, uint256 contributors) = settlement.splitFee(N * 1 ether);
        vm.cool(address(settlement));
        vm.prank(operator);
        uint256 g = gasleft();
        settlement.postBatch(modelId, accounts, debits, keccak256("root"), contributors);
        postEach = (g - gasleft()) / N;
    }

    function test_batchPathsStayWithinPerItemBudget() public {
        deployProtocol();
        _settle(_datanetAndModel());
        console.log("submitContributions gas per item", submitEach);
        console.log("curateBatch gas per item", curateEach);
        console.log("postBatch gas per account", postEach);
        assertLt(submitEach, 130_000);
        assertLt(curateEach, 20_000);
        assertLt(postEach, 12_000);
    }
}
