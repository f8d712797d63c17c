// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {console} from "forge-std/Test.sol";
import {ModelRegistry} from "../src/ModelRegistry.sol";
import {InferenceSettlement} from "../src/InferenceSettlement.sol";
import {Payout, SumNode} from "../src/libraries/RecordTree.sol";
import {SettlementBase} from "./InferenceSettlement.t.sol";
import {Fixture} from "./utils/Fixture.sol";
import {Records} from "./utils/Records.sol";

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

/// @notice Gas of the dispute and claim paths on a batch of 1,024 records (proof depth 10; each further
/// doubling of the records adds one proof level).
contract SettlementPathsGasTest is SettlementBase {
    SumNode[] internal leaves;
    uint256 internal total;

    function _batch() internal returns (uint256 batchId) {
        address[] memory payers = new address[](1);
        payers[0] = alice;
        uint256[] memory amounts = new uint256[](1);
        amounts[0] = 10 ether;
        vm.prank(operator);
        batchId = settlement.postBatch(modelId, payers, amounts, 0, Records.root(leaves).hash, total);
    }

    function _debit(uint256 spentAfter) internal view returns (InferenceSettlement.Debit memory) {
        return InferenceSettlement.Debit(alice, 10 ether, spentAfter, true, new bytes32[](0));
    }

    function setUp() public {
        _setUpProtocol();
        _payer(alice, 100 ether, true);
        (,,, total) = settlement.splitFee(10 ether);
        leaves.push(Records.leaf(keccak256("record 0"), Records.one(c1, total)));
        for (uint256 i = 1; i < 1_024; ++i) {
            leaves.push(Records.leaf(keccak256(abi.encode(i)), new Payout[](0)));
        }
    }

    function test_disputeAnswerAndClaimGas() public {
        uint256 batchId = _batch();
        vm.prank(alice);
        uint256 id = settlement.disputeDebit(batchId, _debit(10 ether));
        uint256 disputeGas = vm.lastCallGas().gasTotalUsed;
        bytes memory voucher = _voucher(alicePk, alice, 10 ether);
        vm.prank(operator);
        settlement.answerDebit(id, alice, 10 ether, 10 ether, voucher);
        uint256 answerGas = vm.lastCallGas().gasTotalUsed;
        vm.warp(block.timestamp + WINDOW);
        settlement.finalizeBatch(batchId);
        InferenceSettlement.Claim[] memory claims = new InferenceSettlement.Claim[](1);
        claims[0] =
            InferenceSettlement.Claim(0, keccak256("record 0"), Records.one(c1, total), 0, Records.proof(leaves, 0));
        vm.cool(address(settlement));
        settlement.claim(batchId, claims);
        uint256 claimGas = vm.lastCallGas().gasTotalUsed;
        console.log("disputeDebit %d, answerDebit (voucher) %d", disputeGas, answerGas);
        console.log("claim one payout of 1,024 records %d", claimGas);
        assertLt(claimGas, 120_000);
        assertLt(disputeGas, 150_000);
    }

    function test_unansweredDisputeAndRefundGas() public {
        uint256 batchId = _batch();
        vm.prank(alice);
        uint256 id = settlement.disputeDebit(batchId, _debit(10 ether));
        vm.warp(block.timestamp + WINDOW);
        settlement.resolveDispute(id);
        uint256 resolveGas = vm.lastCallGas().gasTotalUsed;
        InferenceSettlement.Debit[] memory refunds = new InferenceSettlement.Debit[](1);
        refunds[0] = _debit(10 ether);
        settlement.refund(batchId, refunds);
        uint256 refundGas = vm.lastCallGas().gasTotalUsed;
        console.log("resolveDispute (revert + slash) %d, refund one debit %d", resolveGas, refundGas);
        assertLt(refundGas, 80_000);
    }
}
