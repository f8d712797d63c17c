// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {SpanText} from "../../src/attribution/SpanText.sol";
import {SpanVerifier} from "../../src/attribution/SpanVerifier.sol";
import {IAttributionVerifier} from "../../src/interfaces/IAttributionVerifier.sol";
import {Payout, SumNode} from "../../src/libraries/RecordTree.sol";
import {Fixture} from "./Fixture.sol";
import {Merkle} from "./Merkle.sol";
import {Records} from "./Records.sol";

/// @notice The set-up the span verifier suites share: the protocol with the suite's verifier installed, a
/// published snapshot of four facts by four contributors (the third, `_copyOfTheFirstFact`, went into another
/// Datanet later) plus a second text under the first fact's id, a staked operator, and a user who deposited
/// and authorised it. The helpers build records and evidence over that snapshot.
abstract contract SpanVerifierFixture is Fixture {
    address internal operator = makeAddr("operator");
    address internal user = makeAddr("user");
    address internal challenger = makeAddr("challenger");
    address internal datanetOwner = makeAddr("datanetOwner");
    uint256 internal modelId;
    uint256 internal snapshotId;
    bytes32 internal snapshotRoot;
    bytes32[] internal leaves;
    bytes[] internal texts;
    address[] internal contributors;

    bytes internal constant OUTPUT =
        "Fun facts: octopuses have three hearts and blue copper-based blood, and honeybees communicate flower locations through dancing.";
    bytes internal constant ALT_TEXT = "Octopuses have three hearts and no copper at all.";
    uint256 internal constant FEE = 10 ether;

    /// @dev Deploys the suite's verifier over the fixture's registries (and its library harness).
    function _deployVerifier() internal virtual returns (IAttributionVerifier);

    /// @dev The text contributor 3 copied from the first fact (the case each rule must not pay for).
    function _copyOfTheFirstFact() internal pure virtual returns (bytes memory);

    function setUp() public virtual {
        deployProtocol();
        IAttributionVerifier verifier = _deployVerifier();
        vm.prank(admin);
        settlement.setVerifier(verifier);

        texts.push("Octopuses have three hearts and blue copper-based blood.");
        texts.push("Honeybees communicate flower locations through a waggle dance.");
        texts.push(_copyOfTheFirstFact());
        texts.push("Saturn's rings are made mostly of water ice particles.");
        vm.startPrank(datanetOwner);
        uint256 datanetId = datanets.createDatanet("ipfs://datanet", 0, 0, 0, new address[](0));
        uint256 copierDatanet = datanets.createDatanet("ipfs://copies", 0, 0, 0, new address[](0));
        vm.stopPrank();
        for (uint256 i; i < 4; ++i) {
            address who = makeAddr(string.concat("contributor", vm.toString(i + 1)));
            contributors.push(who);
            vm.prank(who); // the copy (3) went into another Datanet
            uint256 id = datanets.submitContribution(
                i == 2 ? copierDatanet : datanetId, keccak256(texts[i]), uint64(texts[i].length), "MIT"
            );
            assertEq(id, i + 1);
            vm.prank(datanetOwner);
            datanets.curate(id, true);
            leaves.push(_chunkLeaf(id, texts[i]));
        }
        leaves.push(_chunkLeaf(1, ALT_TEXT));
        snapshotRoot = Merkle.root(leaves);
        vm.prank(datanetOwner);
        snapshotId = datanets.publishSnapshot(datanetId, snapshotRoot, 5, 3, bytes32(0), 0, "ipfs://snapshot");

        fundAndApprove(operator, address(staking), MIN_STAKE);
        vm.prank(operator);
        staking.stake(operator, MIN_STAKE);
        vm.prank(makeAddr("modelOwner"));
        modelId = models.registerModel("ipfs://model");
        fundAndApprove(user, address(settlement), 100 ether);
        vm.startPrank(user);
        settlement.deposit(100 ether);
        settlement.authorize(operator, 100 ether, uint64(block.timestamp + 1 days), false);
        vm.stopPrank();
    }

    function _chunkLeaf(uint256 id, bytes memory text) internal pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(id, uint32(0), keccak256(text)))));
    }

    function _one(uint256 a) internal pure returns (uint256[] memory ids) {
        ids = new uint256[](1);
        ids[0] = a;
    }

    function _ids(uint256 a, uint256 b) internal pure returns (uint256[] memory ids) {
        ids = new uint256[](2);
        (ids[0], ids[1]) = (a, b);
    }

    function _ids(uint256 a, uint256 b, uint256 c) internal pure returns (uint256[] memory ids) {
        ids = new uint256[](3);
        (ids[0], ids[1], ids[2]) = (a, b, c);
    }

    function _roots() internal view returns (bytes32[] memory roots) {
        roots = new bytes32[](1);
        roots[0] = snapshotRoot;
    }

    function _chunks(uint256[] memory ids) internal view returns (SpanText.Chunk[] memory chunks) {
        chunks = new SpanText.Chunk[](ids.length);
        for (uint256 i; i < ids.length; ++i) {
            chunks[i] = SpanText.Chunk(ids[i], 0, texts[ids[i] - 1]);
        }
    }

    function _proven(uint256[] memory ids) internal view returns (SpanVerifier.ProvenChunk[] memory proven) {
        proven = new SpanVerifier.ProvenChunk[](ids.length);
        for (uint256 i; i < ids.length; ++i) {
            proven[i] =
                SpanVerifier.ProvenChunk(ids[i], 0, texts[ids[i] - 1], snapshotId, Merkle.proof(leaves, ids[i] - 1));
        }
    }

    function _attribution(bytes32 commitment, uint256[] memory snapshotIds, SpanText.Chunk[] memory witnesses)
        internal
        pure
        returns (bytes memory)
    {
        SpanVerifier.Witness[] memory w = new SpanVerifier.Witness[](witnesses.length);
        for (uint256 i; i < w.length; ++i) {
            w[i] = SpanVerifier.Witness(witnesses[i].contributionId, 0, keccak256(witnesses[i].text));
        }
        return abi.encode(SpanVerifier.Attribution(keccak256(OUTPUT), commitment, snapshotIds, w));
    }

    /// @dev The payout rule the verifiers check (packages/attribution `payoutsForCredits`): floor per credit,
    /// the dust to the first; a record that credits nothing pays its whole total to one fallback account.
    function _payouts(SpanText.Credit[] memory credits, uint256 total) internal returns (Payout[] memory p) {
        if (credits.length == 0) return Records.one(makeAddr("fallback"), total);
        p = new Payout[](credits.length);
        uint256 paid;
        for (uint256 i = credits.length; i > 0;) {
            --i;
            uint256 amount = i == 0 ? total - paid : (total * credits[i].share) / 1_000_000;
            p[i] = Payout(contributors[credits[i].contributionId - 1], amount);
            paid += amount;
        }
    }

    /// @dev The operator posts a one-record batch charging the user FEE.
    function _post(bytes memory attribution, Payout[] memory payouts) internal returns (uint256) {
        SumNode memory leaf = Records.leaf(keccak256(attribution), payouts);
        address[] memory payers = new address[](1);
        payers[0] = user;
        uint256[] memory amounts = new uint256[](1);
        amounts[0] = FEE;
        vm.prank(operator);
        return settlement.postBatch(modelId, payers, amounts, 0, leaf.hash, leaf.sum);
    }

    /// @dev Recomputation evidence (kind 0) over `output` and `chunks`.
    function _recompute(bytes memory output, SpanVerifier.ProvenChunk[] memory chunks)
        internal
        pure
        returns (bytes memory)
    {
        return abi.encode(uint8(0), abi.encode(SpanVerifier.Recomputation(output, chunks)));
    }

    /// @dev A published snapshot holding one chunk of `size` zero bytes (no words) as contribution 9.
    function _bigSnapshot(uint256 size) internal returns (uint256 id, bytes memory big, bytes32[] memory bigLeaves) {
        big = new bytes(size);
        bigLeaves = new bytes32[](2);
        bigLeaves[0] = _chunkLeaf(9, big);
        bigLeaves[1] = _chunkLeaf(10, "x");
        vm.prank(datanetOwner);
        id = datanets.publishSnapshot(1, Merkle.root(bigLeaves), 2, 0, bytes32(0), 0, "");
    }
}
