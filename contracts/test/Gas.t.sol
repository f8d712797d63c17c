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

    address operator = makeAddr("operator");

    function _operator() internal {
        fundAndApprove(operator, address(staking), MIN_STAKE);
        vm.prank(operator);
        staking.stake(operator, MIN_STAKE);
    }

    function _payers(uint256 n, uint256 each) internal returns (address[] memory payers) {
        payers = new address[](n);
        for (uint256 i = 0; i < n; i++) {
            payers[i] = address(uint160(0x10000 + i));
            fundAndApprove(payers[i], address(settlement), each);
            vm.startPrank(payers[i]);
            settlement.deposit(each);
            settlement.authorize(operator, each, uint64(block.timestamp + 1 days), true);
            vm.stopPrank();
        }
    }

    function _postGas(uint256 modelId, address[] memory payers, uint256[] memory amounts) internal returns (uint256 g) {
        uint256 fee;
        for (uint256 i; i < amounts.length; ++i) {
            fee += amounts[i];
        }
        (,,, uint256 contributors) = settlement.splitFee(fee);
        vm.cool(address(settlement));
        vm.prank(operator);
        settlement.postBatch(modelId, payers, amounts, 0, keccak256("records"), contributors);
        // execution plus the transaction's calldata and base cost, as a chain would charge it
        g = vm.lastCallGas().gasTotalUsed + 21_000
            + _calldataGas(
                abi.encodeCall(settlement.postBatch, (modelId, payers, amounts, 0, keccak256("records"), contributors))
            );
    }

    function _calldataGas(bytes memory data) internal pure returns (uint256 g) {
        for (uint256 i; i < data.length; ++i) {
            g += data[i] == 0 ? 4 : 16;
        }
    }

    function _settle(uint256 modelId) internal {
        _operator();
        address[] memory payers = _payers(N, 1 ether);
        uint256[] memory amounts = new uint256[](N);
        for (uint256 i = 0; i < N; i++) {
            amounts[i] = 1 ether;
        }
        postEach = _postGas(modelId, payers, amounts) / N;
    }

    function test_batchPathsStayWithinPerItemBudget() public {
        deployProtocol();
        _settle(_datanetAndModel());
        console.log("submitContributions gas per item", submitEach);
        console.log("curateBatch gas per item", curateEach);
        console.log("postBatch gas per debited account (with calldata)", postEach);
        assertLt(submitEach, 130_000);
        assertLt(curateEach, 20_000);
        assertLt(postEach, 16_000);
    }
}

/// @notice Settlement at the payable-inference scale: 10,000 inferences by 1,000 payers in one batch, as
/// one debit per inference and as one debit per payer (what an operator's server posts).
contract SettlementScaleGasTest is GasTest {
    uint256 constant INFERENCES = 10_000;
    uint256 constant PAYERS = 1_000;

    function test_tenThousandInferencesPerBatch() public {
        deployProtocol();
        uint256 modelId = _datanetAndModel();
        _operator();
        address[] memory payers = _payers(PAYERS, 1 ether);
        address[] memory perInference = new address[](INFERENCES);
        uint256[] memory smallAmounts = new uint256[](INFERENCES);
        for (uint256 i; i < INFERENCES; ++i) {
            perInference[i] = payers[i % PAYERS];
            smallAmounts[i] = 1e12;
        }
        uint256 gasPerInference = _postGas(modelId, perInference, smallAmounts);
        uint256[] memory aggregated = new uint256[](PAYERS);
        for (uint256 i; i < PAYERS; ++i) {
            aggregated[i] = 1e13;
        }
        uint256 gasAggregated = _postGas(modelId, payers, aggregated);
        console.log("10,000 inferences, one debit each: gas per inference", gasPerInference / INFERENCES);
        console.log("10,000 inferences, one debit per payer (1,000): gas per inference", gasAggregated / INFERENCES);
        assertLt(gasAggregated / INFERENCES, 1_500);
        assertLt(gasPerInference / INFERENCES, 5_000);
    }
}
