// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {console} from "forge-std/console.sol";
import {InferenceSettlement} from "../src/InferenceSettlement.sol";
import {SpanText} from "../src/attribution/SpanText.sol";
import {SpanV1} from "../src/attribution/SpanV1.sol";
import {SpanV1Verifier} from "../src/attribution/SpanV1Verifier.sol";
import {SpanVerifier} from "../src/attribution/SpanVerifier.sol";
import {IDatanetRegistry} from "../src/interfaces/IDatanetRegistry.sol";
import {Payout, SumNode} from "../src/libraries/RecordTree.sol";
import {Fixture} from "./utils/Fixture.sol";
import {Merkle} from "./utils/Merkle.sol";
import {Records} from "./utils/Records.sol";

/// @notice Exposes the library as an external call, so gas is measured per computation.
contract SpanV1Harness {
    function compute(bytes memory output, bytes32[] memory roots, SpanText.Chunk[] memory chunks)
        external
        pure
        returns (bytes32 commitment, SpanText.Credit[] memory credits, SpanV1.Span[] memory spans)
    {
        return SpanV1.compute(output, roots, chunks);
    }
}

/// @notice span-v1 records judged on a real snapshot: four facts by four contributors (the third a later
/// verbatim copy of the first), plus a second text under the first fact's id (a snapshot root can hold two).
contract SpanV1VerifierTest is Fixture {
    SpanV1Harness internal harness;
    SpanV1Verifier internal verifier;
    address internal operator = makeAddr("operator");
    address internal user = makeAddr("user");
    address internal challenger = makeAddr("challenger");
    uint256 internal modelId;
    uint256 internal snapshotId;
    bytes32 internal snapshotRoot;
    bytes32[] internal leaves;
    bytes[] internal texts;
    address[] internal contributors;

    bytes internal constant OUTPUT =
        "Fun facts: octopuses have three hearts and blue copper-based blood, and honeybees communicate flower locations through dancing.";
    bytes internal constant ALT_TEXT = "Octopuses have three hearts and no copper at all.";

    struct Scenario {
        SpanText.Chunk[] chunks;
        bytes attribution;
        Payout[] payouts;
        SpanText.Credit[] credits;
        SpanV1.Span[] spans;
        uint256 batchId;
        InferenceSettlement.Record record;
    }

    function setUp() public {
        harness = new SpanV1Harness();
        deployProtocol();
        verifier = new SpanV1Verifier(IDatanetRegistry(address(datanets)), settlement, false);
        vm.prank(admin);
        settlement.setVerifier(verifier);

        texts.push("Octopuses have three hearts and blue copper-based blood.");
        texts.push("Honeybees communicate flower locations through a waggle dance.");
        texts.push("Octopuses have three hearts and blue copper-based blood.");
        texts.push("Saturn's rings are made mostly of water ice particles.");
        address owner = makeAddr("datanetOwner");
        vm.startPrank(owner);
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
            vm.prank(owner);
            datanets.curate(id, true);
            leaves.push(_chunkLeaf(id, texts[i]));
        }
        leaves.push(_chunkLeaf(1, ALT_TEXT));
        snapshotRoot = Merkle.root(leaves);
        vm.prank(owner);
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

    function _roots() internal view returns (bytes32[] memory roots) {
        roots = new bytes32[](1);
        roots[0] = snapshotRoot;
    }

    function _snapshots() internal view returns (uint256[] memory ids) {
        ids = new uint256[](1);
        ids[0] = snapshotId;
    }

    function _chunks(uint256[] memory ids) internal view returns (SpanText.Chunk[] memory chunks) {
        chunks = new SpanText.Chunk[](ids.length);
        for (uint256 i; i < ids.length; ++i) {
            chunks[i] = SpanText.Chunk(ids[i], 0, texts[ids[i] - 1]);
        }
    }

    function _ids(uint256 a, uint256 b) internal pure returns (uint256[] memory ids) {
        ids = new uint256[](2);
        ids[0] = a;
        ids[1] = b;
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

    /// @dev What the credits pay out of `total`: the rule the verifier checks.
    function _payouts(SpanText.Credit[] memory credits, uint256 total) internal view returns (Payout[] memory p) {
        p = new Payout[](credits.length);
        uint256 paid;
        for (uint256 i = credits.length; i > 0;) {
            --i;
            uint256 amount = i == 0 ? total - paid : (total * credits[i].share) / 1_000_000;
            p[i] = Payout(contributors[credits[i].contributionId - 1], amount);
            paid += amount;
        }
    }

    /// @dev The operator attributes over `settled` chunks and posts a one-record batch paying by it.
    function _settle(uint256[] memory settled) internal returns (Scenario memory s) {
        s.chunks = _chunks(settled);
        bytes32 commitment;
        (commitment, s.credits, s.spans) = harness.compute(OUTPUT, _roots(), s.chunks);
        s.attribution = _attribution(commitment, _snapshots(), s.chunks);
        uint256 fee = 10 ether;
        (,,, uint256 total) = settlement.splitFee(fee);
        s.payouts = _payouts(s.credits, total);
        if (s.credits.length == 0) s.payouts = Records.one(makeAddr("fallback"), total); // nothing credited
        s.batchId = _post(s.attribution, s.payouts, fee);
        s.record = InferenceSettlement.Record(0, s.attribution, s.payouts, new SumNode[](0));
    }

    function _post(bytes memory attribution, Payout[] memory payouts, uint256 fee) internal returns (uint256) {
        SumNode memory leaf = Records.leaf(keccak256(attribution), payouts);
        address[] memory payers = new address[](1);
        payers[0] = user;
        uint256[] memory amounts = new uint256[](1);
        amounts[0] = fee;
        vm.prank(operator);
        return settlement.postBatch(modelId, payers, amounts, 0, leaf.hash, leaf.sum);
    }

    function _recompute(SpanVerifier.ProvenChunk[] memory chunks) internal pure returns (bytes memory) {
        return abi.encode(verifierKind(0), abi.encode(SpanVerifier.Recomputation(OUTPUT, chunks)));
    }

    function verifierKind(uint8 k) internal pure returns (uint8) {
        return k;
    }

    function test_sharedVectorsEqualTheTypeScriptLibrary() public view {
        uint256 totalGas;
        for (uint256 k; k < VECTOR_COUNT; ++k) {
            (
                bytes memory output,
                bytes32[] memory roots,
                SpanText.Chunk[] memory chunks,
                bytes32 commitment,
                uint256[] memory ids,
                uint256[] memory shares
            ) = abi.decode(_vector(k), (bytes, bytes32[], SpanText.Chunk[], bytes32, uint256[], uint256[]));
            uint256 gasBefore = gasleft();
            (bytes32 c, SpanText.Credit[] memory credits,) = harness.compute(output, roots, chunks);
            uint256 used = gasBefore - gasleft();
            totalGas += used;
            assertEq(c, commitment, "commitment");
            assertEq(credits.length, ids.length, "credit count");
            for (uint256 i; i < ids.length; ++i) {
                assertEq(credits[i].contributionId, ids[i], "contribution id");
                assertEq(credits[i].share, shares[i], "share");
            }
        }
        console.log("total gas over %d vectors: %d", VECTOR_COUNT, totalGas);
    }

    function test_wordCostTable() public pure {
        bytes memory table = SpanText.COST_TABLE;
        assertEq(SpanText.wordCost(table, keccak256("the")), 4);
        assertEq(SpanText.wordCost(table, keccak256("over")), 6);
        assertEq(SpanText.wordCost(table, keccak256("important")), 8);
        assertEq(SpanText.wordCost(table, keccak256("zebras")), 12);
    }

    function test_conflictingChunksRevert() public {
        SpanText.Chunk[] memory chunks = new SpanText.Chunk[](2);
        chunks[0] = SpanText.Chunk(1, 0, "a b c");
        chunks[1] = SpanText.Chunk(1, 0, "a b d");
        vm.expectRevert(abi.encodeWithSelector(SpanText.SpanConflictingChunk.selector, 1, 0));
        harness.compute("a b c", new bytes32[](0), chunks);
    }

    function test_oversizedOutputReverts() public {
        bytes memory output = new bytes(32_769);
        for (uint256 i; i < output.length; ++i) {
            output[i] = "x";
        }
        vm.expectRevert(abi.encodeWithSelector(SpanText.SpanOutputTooLarge.selector, 32_769, 1));
        harness.compute(output, new bytes32[](0), new SpanText.Chunk[](0));
    }

    function test_challengeAddingTheOmittedOriginalWins() public {
        Scenario memory s = _settle(_ids(2, 3)); // pays the later copy
        uint256[] memory all = new uint256[](3);
        (all[0], all[1], all[2]) = (2, 3, 1);
        uint256 gasBefore = gasleft();
        vm.prank(challenger);
        settlement.challenge(s.batchId, s.record, _recompute(_proven(all)));
        console.log("challenge (Solidity span-v1) gas: %d", gasBefore - gasleft());
        assertEq(uint256(settlement.getBatch(s.batchId).status), uint256(InferenceSettlement.BatchStatus.Reverted));
    }

    function test_challengeAddingIrrelevantChunksLoses() public {
        Scenario memory s = _settle(_ids(1, 2));
        uint256[] memory all = new uint256[](4);
        (all[0], all[1], all[2], all[3]) = (1, 2, 3, 4);
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(InferenceSettlement.ChallengeRejected.selector, s.batchId));
        settlement.challenge(s.batchId, s.record, _recompute(_proven(all)));
    }

    /// The witness-completeness check: leaving out a witness chunk would change the result, so without
    /// the check a challenger could slash an honest operator.
    function test_challengeLeavingOutAWitnessLoses() public {
        Scenario memory s = _settle(_ids(1, 2));
        uint256[] memory some = new uint256[](2);
        (some[0], some[1]) = (2, 3); // omits witness 1, adds its later copy
        assertFalse(verifier.verifyChallenge(s.attribution, s.payouts, _recompute(_proven(some))));
        uint256[] memory one = new uint256[](1);
        one[0] = 2;
        assertFalse(verifier.verifyChallenge(s.attribution, s.payouts, _recompute(_proven(one))));
    }

    /// Issue 18.4: the record binds each witness's text, so another text under the same id is no witness.
    function test_challengeSwappingAWitnessTextLoses() public {
        Scenario memory s = _settle(_ids(1, 2));
        SpanVerifier.ProvenChunk[] memory chunks = _proven(_ids(1, 2));
        chunks[0].text = ALT_TEXT;
        chunks[0].proof = Merkle.proof(leaves, 4);
        assertFalse(verifier.verifyChallenge(s.attribution, s.payouts, _recompute(chunks)));
    }

    function test_forgedOrForeignChunksAreUnconvincing() public {
        Scenario memory s = _settle(_ids(2, 3));
        SpanVerifier.ProvenChunk[] memory chunks = _proven(_ids(2, 3));
        SpanVerifier.ProvenChunk[] memory withForged = new SpanVerifier.ProvenChunk[](3);
        (withForged[0], withForged[1], withForged[2]) = (chunks[0], chunks[1], _proven(_ids(1, 1))[0]);
        withForged[2].text = "Octopuses have three hearts and blue copper-based blood!";
        assertFalse(verifier.verifyChallenge(s.attribution, s.payouts, _recompute(withForged)));
        withForged[2] = _proven(_ids(1, 1))[0];
        withForged[2].snapshotId = snapshotId + 1; // a snapshot the record does not name
        assertFalse(verifier.verifyChallenge(s.attribution, s.payouts, _recompute(withForged)));
        withForged[2].snapshotId = snapshotId;
        assertTrue(verifier.verifyChallenge(s.attribution, s.payouts, _recompute(withForged)));
        bytes memory otherOutput = abi.encode(uint8(0), abi.encode(SpanVerifier.Recomputation("other", withForged)));
        assertFalse(verifier.verifyChallenge(s.attribution, s.payouts, otherOutput));
        assertFalse(verifier.verifyChallenge(s.attribution, s.payouts, abi.encode(uint8(7), bytes(""))));
        SpanVerifier.ProvenChunk[] memory tooMany = new SpanVerifier.ProvenChunk[](257);
        assertFalse(verifier.verifyChallenge(s.attribution, s.payouts, _recompute(tooMany)));
    }

    function test_challengerInputOverTheLimitsIsUnconvincing() public {
        Scenario memory s = _settle(_ids(2, 3));
        SpanVerifier.ProvenChunk[] memory chunks = new SpanVerifier.ProvenChunk[](3);
        (chunks[0], chunks[1]) = (_proven(_ids(2, 3))[0], _proven(_ids(2, 3))[1]);
        bytes memory big = new bytes(262_145);
        bytes32[] memory bigLeaves = new bytes32[](2);
        bigLeaves[0] = _chunkLeaf(9, big);
        bigLeaves[1] = _chunkLeaf(10, "x");
        vm.prank(makeAddr("datanetOwner"));
        uint256 bigSnapshot = datanets.publishSnapshot(1, Merkle.root(bigLeaves), 2, 0, bytes32(0), 0, "");
        uint256[] memory snaps = new uint256[](2);
        (snaps[0], snaps[1]) = (snapshotId, bigSnapshot);
        bytes memory attribution =
            _attribution(abi.decode(s.attribution, (SpanVerifier.Attribution)).commitment, snaps, s.chunks);
        chunks[2] = SpanVerifier.ProvenChunk(9, 0, big, bigSnapshot, Merkle.proof(bigLeaves, 0));
        assertFalse(verifier.verifyChallenge(attribution, s.payouts, _recompute(chunks)));
    }

    function test_recordsThatCannotBeCheckedCountAgainstTheOperator() public view {
        bytes32 c = keccak256("any commitment");
        // a snapshot never published
        uint256[] memory unpublished = new uint256[](1);
        unpublished[0] = 999;
        assertTrue(verifier.verifyChallenge(_attribution(c, unpublished, _chunks(_ids(1, 2))), new Payout[](0), ""));
        // malformed attribution bytes
        assertTrue(verifier.verifyChallenge(hex"1234", new Payout[](0), ""));
        // too many witnesses or snapshots
        SpanText.Chunk[] memory many = new SpanText.Chunk[](129);
        for (uint256 i; i < many.length; ++i) {
            many[i] = SpanText.Chunk(1, 0, texts[0]);
        }
        assertTrue(verifier.verifyChallenge(_attribution(c, _snapshots(), many), new Payout[](0), ""));
        uint256[] memory snaps = new uint256[](65);
        for (uint256 i; i < snaps.length; ++i) {
            snaps[i] = snapshotId;
        }
        assertTrue(verifier.verifyChallenge(_attribution(c, snaps, _chunks(_ids(1, 2))), new Payout[](0), ""));
        // the same records cannot be answered either
        assertFalse(verifier.verifyAnswer(_attribution(c, unpublished, _chunks(_ids(1, 2))), ""));
        assertFalse(verifier.verifyAnswer(hex"1234", ""));
    }

    function test_oversizedOutputsAndWitnessesCountAgainstTheOperator() public {
        // an output past span-v1's word limit: recomputing over the witnesses alone fails
        bytes memory words = new bytes(8_200);
        for (uint256 i; i < words.length; i += 2) {
            (words[i], words[i + 1]) = ("a", " ");
        }
        SpanVerifier.Witness[] memory w = new SpanVerifier.Witness[](1);
        w[0] = SpanVerifier.Witness(2, 0, keccak256(texts[1]));
        bytes memory attribution = abi.encode(SpanVerifier.Attribution(keccak256(words), bytes32(0), _snapshots(), w));
        SpanVerifier.ProvenChunk[] memory witness = new SpanVerifier.ProvenChunk[](1);
        witness[0] = _proven(_ids(2, 2))[0];
        bytes memory evidence = abi.encode(uint8(0), abi.encode(SpanVerifier.Recomputation(words, witness)));
        assertTrue(verifier.verifyChallenge(attribution, new Payout[](0), evidence));
        // with a challenger's extra chunk the failure proves nothing
        SpanVerifier.ProvenChunk[] memory more = new SpanVerifier.ProvenChunk[](2);
        (more[0], more[1]) = (witness[0], _proven(_ids(4, 4))[0]);
        evidence = abi.encode(uint8(0), abi.encode(SpanVerifier.Recomputation(words, more)));
        assertFalse(verifier.verifyChallenge(attribution, new Payout[](0), evidence));
        // an output past 32,768 bytes
        bytes memory huge = new bytes(32_769);
        attribution = abi.encode(SpanVerifier.Attribution(keccak256(huge), bytes32(0), _snapshots(), w));
        evidence = abi.encode(uint8(0), abi.encode(SpanVerifier.Recomputation(huge, witness)));
        assertTrue(verifier.verifyChallenge(attribution, new Payout[](0), evidence));
        assertFalse(verifier.verifyAnswer(attribution, abi.encode(SpanVerifier.Recomputation(huge, witness))));
        // witness texts over 131,072 bytes
        bytes memory big = new bytes(131_073);
        bytes32[] memory bigLeaves = new bytes32[](2);
        bigLeaves[0] = _chunkLeaf(9, big);
        bigLeaves[1] = _chunkLeaf(10, "x");
        vm.prank(makeAddr("datanetOwner"));
        uint256 bigSnapshot = datanets.publishSnapshot(1, Merkle.root(bigLeaves), 2, 0, bytes32(0), 0, "");
        uint256[] memory snaps = new uint256[](1);
        snaps[0] = bigSnapshot;
        w[0] = SpanVerifier.Witness(9, 0, keccak256(big));
        attribution = abi.encode(SpanVerifier.Attribution(keccak256(OUTPUT), bytes32(0), snaps, w));
        witness[0] = SpanVerifier.ProvenChunk(9, 0, big, bigSnapshot, Merkle.proof(bigLeaves, 0));
        assertTrue(verifier.verifyChallenge(attribution, new Payout[](0), _recompute(witness)));
        assertFalse(verifier.verifyAnswer(attribution, abi.encode(SpanVerifier.Recomputation(OUTPUT, witness))));
    }

    /// Witness texts over the limit count against the operator even with their true commitment.
    function test_oversizedWitnessesCountEvenWithTheirTrueCommitment() public {
        bytes memory big = new bytes(131_073);
        bytes32[] memory bigLeaves = new bytes32[](2);
        bigLeaves[0] = _chunkLeaf(9, big);
        bigLeaves[1] = _chunkLeaf(10, "x");
        vm.prank(makeAddr("datanetOwner"));
        uint256 bigSnapshot = datanets.publishSnapshot(1, Merkle.root(bigLeaves), 2, 0, bytes32(0), 0, "");
        uint256[] memory snaps = new uint256[](1);
        snaps[0] = bigSnapshot;
        SpanText.Chunk[] memory bigChunk = new SpanText.Chunk[](1);
        bigChunk[0] = SpanText.Chunk(9, 0, big);
        bytes32[] memory bigRoots = new bytes32[](1);
        bigRoots[0] = Merkle.root(bigLeaves);
        (bytes32 honest,,) = harness.compute(OUTPUT, bigRoots, bigChunk);
        SpanVerifier.Witness[] memory w = new SpanVerifier.Witness[](1);
        w[0] = SpanVerifier.Witness(9, 0, keccak256(big));
        bytes memory attribution = abi.encode(SpanVerifier.Attribution(keccak256(OUTPUT), honest, snaps, w));
        SpanVerifier.ProvenChunk[] memory witness = new SpanVerifier.ProvenChunk[](1);
        witness[0] = SpanVerifier.ProvenChunk(9, 0, big, bigSnapshot, Merkle.proof(bigLeaves, 0));
        assertTrue(verifier.verifyChallenge(attribution, new Payout[](0), _recompute(witness)));
    }

    /// A precompile that fails or answers short counts as no recomputation, never as a commitment.
    function test_failedPrecompileIsNoRecomputation() public {
        SpanV1Verifier onNode = new SpanV1Verifier(IDatanetRegistry(address(datanets)), settlement, true);
        address precompile = onNode.SPAN_V1_PRECOMPILE();
        vm.etch(precompile, hex"60006000fd"); // reverts
        (bool ok, bytes32 commitment) = onNode.recompute(OUTPUT, _roots(), _chunks(_ids(1, 2)));
        assertFalse(ok);
        assertEq(commitment, bytes32(0));
        vm.etch(precompile, hex"60016000f3"); // returns one byte
        (ok, commitment) = onNode.recompute(OUTPUT, _roots(), _chunks(_ids(1, 2)));
        assertFalse(ok);
        assertEq(commitment, bytes32(0));
    }

    /// Issue 18.2: payouts are bound to the credits the record commits to.
    function test_payoutsMustFollowTheCredits() public {
        Scenario memory s = _settle(_ids(1, 2));
        assertEq(s.credits.length, 2);
        bytes memory creditsAndSpans =
            abi.encode(uint8(1), abi.encode(SpanV1Verifier.CreditsAndSpans(s.credits, s.spans)));
        vm.expectRevert(abi.encodeWithSelector(InferenceSettlement.ChallengeRejected.selector, s.batchId));
        settlement.challenge(s.batchId, s.record, creditsAndSpans);

        // honest records paying the operator: the challenge wins
        Payout[] memory selfPaid = new Payout[](2);
        selfPaid[0] = Payout(operator, s.payouts[0].amount + s.payouts[1].amount);
        assertTrue(verifier.verifyChallenge(s.attribution, selfPaid, creditsAndSpans));
        selfPaid = new Payout[](1);
        selfPaid[0] = Payout(operator, s.payouts[0].amount + s.payouts[1].amount);
        assertTrue(verifier.verifyChallenge(s.attribution, selfPaid, creditsAndSpans));
        // the right amounts to the wrong account
        Payout[] memory misdirected = new Payout[](2);
        misdirected[0] = Payout(operator, s.payouts[0].amount);
        misdirected[1] = s.payouts[1];
        assertTrue(verifier.verifyChallenge(s.attribution, misdirected, creditsAndSpans));
        // the right accounts with the rounding remainder moved
        Payout[] memory shifted = new Payout[](2);
        shifted[0] = Payout(s.payouts[0].account, s.payouts[0].amount - 1);
        shifted[1] = Payout(s.payouts[1].account, s.payouts[1].amount + 1);
        assertTrue(verifier.verifyChallenge(s.attribution, shifted, creditsAndSpans));
        // credits that are not the record's commitment prove nothing
        s.credits[0].share += 1;
        bytes memory forged = abi.encode(uint8(1), abi.encode(SpanV1Verifier.CreditsAndSpans(s.credits, s.spans)));
        assertFalse(verifier.verifyChallenge(s.attribution, selfPaid, forged));

        uint256 batchId = _post(s.attribution, selfPaid, 10 ether);
        InferenceSettlement.Record memory r = InferenceSettlement.Record(0, s.attribution, selfPaid, new SumNode[](0));
        vm.prank(challenger);
        settlement.challenge(batchId, r, creditsAndSpans);
        assertEq(uint256(settlement.getBatch(batchId).status), uint256(InferenceSettlement.BatchStatus.Reverted));
    }

    function test_aRecordWithoutCreditsPaysItsFallback() public {
        Scenario memory s = _settle(_ids(4, 4));
        assertEq(s.credits.length, 0);
        bytes memory creditsAndSpans =
            abi.encode(uint8(1), abi.encode(SpanV1Verifier.CreditsAndSpans(s.credits, s.spans)));
        assertFalse(verifier.verifyChallenge(s.attribution, s.payouts, creditsAndSpans));
    }

    function test_evidenceAnswerMustProveEveryWitness() public {
        Scenario memory s = _settle(_ids(1, 2));
        bytes memory complete = abi.encode(SpanVerifier.Recomputation(OUTPUT, _proven(_ids(1, 2))));
        assertTrue(verifier.verifyAnswer(s.attribution, complete));
        uint256[] memory one = new uint256[](1);
        one[0] = 2;
        assertFalse(
            verifier.verifyAnswer(s.attribution, abi.encode(SpanVerifier.Recomputation(OUTPUT, _proven(one))))
        );
        assertFalse(
            verifier.verifyAnswer(s.attribution, abi.encode(SpanVerifier.Recomputation("other", _proven(_ids(1, 2)))))
        );
        assertFalse(
            verifier.verifyAnswer(s.attribution, abi.encode(SpanVerifier.Recomputation(OUTPUT, _proven(_ids(1, 3)))))
        );

        vm.prank(challenger);
        uint256 id = settlement.requestEvidence(s.batchId, s.record);
        vm.prank(operator);
        settlement.answerEvidence(id, s.attribution, complete);
        assertEq(uint8(settlement.getDispute(id).status), uint8(InferenceSettlement.DisputeStatus.Answered));
    }

    /// Issue 18.3: a witness that exists in no snapshot cannot be answered for, so the batch reverts.
    function test_witnessInNoSnapshotLosesTheEvidenceRequest() public {
        SpanText.Chunk[] memory ghost = new SpanText.Chunk[](1);
        ghost[0] = SpanText.Chunk(7, 0, "A chunk that no snapshot holds.");
        bytes memory attribution = _attribution(keccak256("whatever"), _snapshots(), ghost);
        (,,, uint256 total) = settlement.splitFee(10 ether);
        Payout[] memory payouts = new Payout[](1);
        payouts[0] = Payout(operator, total);
        uint256 batchId = _post(attribution, payouts, 10 ether);
        InferenceSettlement.Record memory r = InferenceSettlement.Record(0, attribution, payouts, new SumNode[](0));
        vm.prank(challenger);
        uint256 id = settlement.requestEvidence(batchId, r);
        SpanVerifier.ProvenChunk[] memory none = new SpanVerifier.ProvenChunk[](1);
        none[0] = SpanVerifier.ProvenChunk(7, 0, "A chunk that no snapshot holds.", snapshotId, new bytes32[](0));
        vm.expectRevert(abi.encodeWithSelector(InferenceSettlement.AnswerRejected.selector, id));
        vm.prank(operator);
        settlement.answerEvidence(id, attribution, abi.encode(SpanVerifier.Recomputation(OUTPUT, none)));
        vm.warp(settlement.getDispute(id).answerBy);
        settlement.resolveDispute(id);
        assertEq(uint256(settlement.getBatch(batchId).status), uint256(InferenceSettlement.BatchStatus.Reverted));
    }

    // BEGIN GENERATED (packages/attribution/test/vectors/vectors.ts)
    uint256 internal constant VECTOR_COUNT = 25;

    function _vector(uint256 k) internal pure returns (bytes memory) {
        if (k == 0) return hex"00000000000000000000000000000000000000000000000000000000000000c000000000000000000000000000000000000000000000000000000000000001200000000000000000000000000000000000000000000000000000000000000160b848865df3817ee65a300d88dbe8d084fdb5b0a84cbe76d19d2d48e1ce105d9c0000000000000000000000000000000000000000000000000000000000000420000000000000000000000000000000000000000000000000000000000000048000000000000000000000000000000000000000000000000000000000000000405a6562726173206772617a652071756965746c79206e656172207468652072697665723b206b616e6761726f6f73206a756d70206f7665722066656e636573210000000000000000000000000000000000000000000000000000000000000001d387b6b36e3148455937bd82fc0be40b2c595001053931c444db5a4ce813732200000000000000000000000000000000000000000000000000000000000000030000000000000000000000000000000000000000000000000000000000000060000000000000000000000000000000000000000000000000000000000000012000000000000000000000000000000000000000000000000000000000000001e0000000000000000000000000000000000000000000000000000000000000000200000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000060000000000000000000000000000000000000000000000000000000000000002a436f70793a207a6562726173206772617a652071756965746c79206e656172207468652072697665722e0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000010000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000006000000000000000000000000000000000000000000000000000000000000000245a6562726173206772617a652071756965746c79206e656172207468652072697665722e0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000050000000000000000000000000000000000000000000000000000000000000003000000000000000000000000000000000000000000000000000000000000006000000000000000000000000000000000000000000000000000000000000000234b616e6761726f6f73206a756d70206f7665722066656e636573206174206461776e2e00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000002000000000000000000000000000000000000000000000000000000000000000100000000000000000000000000000000000000000000000000000000000000050000000000000000000000000000000000000000000000000000000000000002000000000000000000000000000000000000000000000000000000000009367e0000000000000000000000000000000000000000000000000000000000060bc2";
        if (k == 1) return hex"00000000000000000000000000000000000000000000000000000000000000c000000000000000000000000000000000000000000000000000000000000001200000000000000000000000000000000000000000000000000000000000000160345083e5ea08f376cc5e1815f1312fd0b044b1acb2f5a80af98141ea2062882800000000000000000000000000000000000000000000000000000000000002600000000000000000000000000000000000000000000000000000000000000280000000000000000000000000000000000000000000000000000000000000002a5468617420776173206f6e65206f6620746865206d6f737420696d706f7274616e74207468696e67732e000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000001faaf8df5d46209583d5c470dcea68e793ab11b0f8ad15bfacca394b2a672e02e00000000000000000000000000000000000000000000000000000000000000010000000000000000000000000000000000000000000000000000000000000020000000000000000000000000000000000000000000000000000000000000000700000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000060000000000000000000000000000000000000000000000000000000000000002f4974206973206f6e65206f6620746865206d6f737420696d706f7274616e74207468696e677320696e206c6966652e000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000";
        if (k == 2) return hex"00000000000000000000000000000000000000000000000000000000000000c000000000000000000000000000000000000000000000000000000000000001200000000000000000000000000000000000000000000000000000000000000160555c6a6e194672abf139a8783384f8da7e887a68fd59466a6330725b20cb102200000000000000000000000000000000000000000000000000000000000003200000000000000000000000000000000000000000000000000000000000000380000000000000000000000000000000000000000000000000000000000000002d416c70686120626574612067616d6d612064656c746120657073696c6f6e207a657461206574612074686574610000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000011c5803e19a15ee751ecf4e9031dfe03a15676e77db75dff3088dc2e700a20e490000000000000000000000000000000000000000000000000000000000000002000000000000000000000000000000000000000000000000000000000000004000000000000000000000000000000000000000000000000000000000000000e0000000000000000000000000000000000000000000000000000000000000000300000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000060000000000000000000000000000000000000000000000000000000000000001e616c70686120626574612067616d6d612064656c746120657073696c6f6e0000000000000000000000000000000000000000000000000000000000000000000400000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000060000000000000000000000000000000000000000000000000000000000000002267616d6d612064656c746120657073696c6f6e207a6574612065746120746865746100000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000020000000000000000000000000000000000000000000000000000000000000003000000000000000000000000000000000000000000000000000000000000000400000000000000000000000000000000000000000000000000000000000000020000000000000000000000000000000000000000000000000000000000098968000000000000000000000000000000000000000000000000000000000005b8d8";
        if (k == 3) return hex"00000000000000000000000000000000000000000000000000000000000000c0000000000000000000000000000000000000000000000000000000000000014000000000000000000000000000000000000000000000000000000000000001803391696fc7650019de48c71e1b7704e24f2a3573bb2bae3e9bb2acc478c3e9030000000000000000000000000000000000000000000000000000000000000340000000000000000000000000000000000000000000000000000000000000038000000000000000000000000000000000000000000000000000000000000000484c6520636166c3a920c2ab206372c3a86d6520c2bb206e61c3af76656d656e7420736572766920e2809420c38954c38920323032342c207472c3a873206368617564e280a6206f6b0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000001b602bddd3263083fb907ffd6204afdc01c9c96c1187b2034d5fe855bab456244000000000000000000000000000000000000000000000000000000000000000200000000000000000000000000000000000000000000000000000000000000400000000000000000000000000000000000000000000000000000000000000100000000000000000000000000000000000000000000000000000000000000000b000000000000000000000000000000000000000000000000000000000000000200000000000000000000000000000000000000000000000000000000000000600000000000000000000000000000000000000000000000000000000000000034636166c3a9206372c3a86d65206e61c3af76656d656e7420736572766920c3a974c3a92032303234207472c3a873206368617564000000000000000000000000000000000000000000000000000000000000000000000000000000000000000c00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000060000000000000000000000000000000000000000000000000000000000000000f4c6520434146c389206372c3a86d6500000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000001000000000000000000000000000000000000000000000000000000000000000b000000000000000000000000000000000000000000000000000000000000000100000000000000000000000000000000000000000000000000000000000f4240";
        if (k == 4) return hex"00000000000000000000000000000000000000000000000000000000000000c000000000000000000000000000000000000000000000000000000000000000e0000000000000000000000000000000000000000000000000000000000000012089388fe41cf2b14673e30d5843e473669c359b72d664fa5775354debef06ee330000000000000000000000000000000000000000000000000000000000000200000000000000000000000000000000000000000000000000000000000000022000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000001d6f5598ab4f7bf2e1cd71dd30357f391a92fa9d3daa6ed54ca7c8a9c0eba440b000000000000000000000000000000000000000000000000000000000000000100000000000000000000000000000000000000000000000000000000000000200000000000000000000000000000000000000000000000000000000000000001000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000600000000000000000000000000000000000000000000000000000000000000014616e797468696e6720617420616c6c206865726500000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000";
        if (k == 5) return hex"00000000000000000000000000000000000000000000000000000000000000c000000000000000000000000000000000000000000000000000000000000001400000000000000000000000000000000000000000000000000000000000000180087fc3dd7f689406f831851fb6d46b86af58e0b5084fe950b1b7354cfb83833f0000000000000000000000000000000000000000000000000000000000000640000000000000000000000000000000000000000000000000000000000000066000000000000000000000000000000000000000000000000000000000000000514f460a6f6d6963726f6e2c206f6620e28094206f660a7369676d6120e28094205349474d412c207461752e20cea94d45474120e28094207a65746120e280942054415520e28094206f662c207068692e20000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000173d4d17754ea5a8959f2713d229ea0c79bfc2810f0494840bb34973780cadc650000000000000000000000000000000000000000000000000000000000000004000000000000000000000000000000000000000000000000000000000000008000000000000000000000000000000000000000000000000000000000000001a000000000000000000000000000000000000000000000000000000000000002c000000000000000000000000000000000000000000000000000000000000003600000000000000000000000000000000000000000000000000000000000000001000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000600000000000000000000000000000000000000000000000000000000000000094757073696c6f6e2e20cea96d6567610a7468650a6f6d6963726f6e20e28094205a4554412c206f662c2070686920555053494c4f4e20e28094207461752e20616e6420cea96d6567612e205349474d41207369676d612e207468652c20616e64207a65746120e28094207369676d612c207068690a5a4554412c206b617070612e207068690a7a6574612c20616e64204f462c2000000000000000000000000000000000000000000000000000000000000000000000000000000000000000010000000000000000000000000000000000000000000000000000000000000001000000000000000000000000000000000000000000000000000000000000006000000000000000000000000000000000000000000000000000000000000000827468652e20757073696c6f6e0a5a4554410a7a6574612e20cea96d6567610acea96d6567612e207369676d612e206f6620cea94d4547412e207a65746120e28094206b617070612c204f462e206f660a7a6574612c207468650a6f6620e28094204f462c205349474d4120e28094206e61c3af766520e28094206e61c3af76652e20000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000100000000000000000000000000000000000000000000000000000000000000020000000000000000000000000000000000000000000000000000000000000060000000000000000000000000000000000000000000000000000000000000000bcea96d6567612c204f460a00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000030000000000000000000000000000000000000000000000000000000000000003000000000000000000000000000000000000000000000000000000000000006000000000000000000000000000000000000000000000000000000000000000b0616e642e207068692e207468652c20757073696c6f6e2e20cea96d656761204f4d4943524f4e2c204f4d4943524f4e0a6f662c207369676d61207369676d61207068692c204e41c38f564520e28094204f46206b6170706120cea96d65676120e28094206e61c3af766520e28094204e41c38f564520e28094207461752e207468652c206b617070612c20414e44204f460a6b61707061204f4620616e6420e28094204f4d4943524f4e207a6574610a0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000";
        if (k == 6) return hex"00000000000000000000000000000000000000000000000000000000000000c0000000000000000000000000000000000000000000000000000000000000016000000000000000000000000000000000000000000000000000000000000001a0ece69948e0c029e46671a6d11150051611f2f96a65a4923fe747eaead87ff1f100000000000000000000000000000000000000000000000000000000000002a000000000000000000000000000000000000000000000000000000000000002e00000000000000000000000000000000000000000000000000000000000000071cea96d6567612c20757073696c6f6e2e206b617070612e205048490a6f6d6963726f6e0a6f662e207a6574612e20746175206e61c3af76652c2074617520cea96d65676120746865207461752c206e61c3af76650a74617520cea96d6567612c20757073696c6f6e2e206b617070612e20000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000133ab4374f9ab794e0dbd436bf5c762aa600c05d61e3e7256cb3d57834f7edc190000000000000000000000000000000000000000000000000000000000000001000000000000000000000000000000000000000000000000000000000000002000000000000000000000000000000000000000000000000000000000000000010000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000006000000000000000000000000000000000000000000000000000000000000000364f4620e28094207a6574612e207461750a6e61c3af766520e28094207461750acea96d6567612c20757073696c6f6e0a4b415050410a0000000000000000000000000000000000000000000000000000000000000000000000000000000000010000000000000000000000000000000000000000000000000000000000000001000000000000000000000000000000000000000000000000000000000000000100000000000000000000000000000000000000000000000000000000000f4240";
        if (k == 7) return hex"00000000000000000000000000000000000000000000000000000000000000c00000000000000000000000000000000000000000000000000000000000000120000000000000000000000000000000000000000000000000000000000000016055c9b71cd4affb1480f31cfdbfe4f327374db33ae4cfa6505cd9e72ff42a6ce200000000000000000000000000000000000000000000000000000000000004400000000000000000000000000000000000000000000000000000000000000460000000000000000000000000000000000000000000000000000000000000003a555053494c4f4e2e206b617070612c206b617070612c20746865207461752e205448450a6f6620757073696c6f6e2e205349474d4120e28094200000000000000000000000000000000000000000000000000000000000000000000000000001791536a15544be7486b7f17d4d67045e531126f97bbf1d3651d159a650f65955000000000000000000000000000000000000000000000000000000000000000300000000000000000000000000000000000000000000000000000000000000600000000000000000000000000000000000000000000000000000000000000160000000000000000000000000000000000000000000000000000000000000020000000000000000000000000000000000000000000000000000000000000000020000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000006000000000000000000000000000000000000000000000000000000000000000614b415050412c206b6170706120e28094206f6d6963726f6e0a746175204b415050410a616e642e20cea96d6567612c206f660a7068692c206f6d6963726f6e20e28094207468650a706869207a6574612e206b617070610a616e640a7468652e20000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000004000000000000000000000000000000000000000000000000000000000000000100000000000000000000000000000000000000000000000000000000000000600000000000000000000000000000000000000000000000000000000000000007746865204f4620000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000001000000000000000000000000000000000000000000000000000000000000000200000000000000000000000000000000000000000000000000000000000000600000000000000000000000000000000000000000000000000000000000000028504849207461750a616e640acea96d65676120e28094206e61c3af7665206b6170706120e280942000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000";
        if (k == 8) return hex"00000000000000000000000000000000000000000000000000000000000000c0000000000000000000000000000000000000000000000000000000000000016000000000000000000000000000000000000000000000000000000000000001a01d8f862b5e91d8c0a377330ca237344c4a297cd4f2f70d94d4f858007fc495fa00000000000000000000000000000000000000000000000000000000000004000000000000000000000000000000000000000000000000000000000000000440000000000000000000000000000000000000000000000000000000000000006c414e442e205349474d410a7a6574612e207068692c206e61c3af7665205349474d4120cea94d45474120e28094206f6d6963726f6e20e28094206e61c3af766520e28094207a6574610acea96d6567612c206e61c3af76652e20616e6420e28094207369676d6120e2809420000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000016262759e98cbc406da03ec716866b5b4a002e5d25d6d732cadadb02c7aa2254a000000000000000000000000000000000000000000000000000000000000000200000000000000000000000000000000000000000000000000000000000000400000000000000000000000000000000000000000000000000000000000000100000000000000000000000000000000000000000000000000000000000000000400000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000060000000000000000000000000000000000000000000000000000000000000002e4e41c38f56452c206e61c3af76652c205349474d412e20cea96d656761206f6d6963726f6e206e61c3af76652c2000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000030000000000000000000000000000000000000000000000000000000000000001000000000000000000000000000000000000000000000000000000000000006000000000000000000000000000000000000000000000000000000000000000a87369676d612c20706869206e61c3af76650a616e6420e28094207369676d612c20757073696c6f6e2c20cea96d6567612e20cea96d6567610a7468652c204e41c38f56450a746175207a6574612c20cea94d454741206f6d6963726f6e2c207369676d612e206b617070612074686520e28094206f6d6963726f6e2e207468650a4e41c38f56450a7369676d610a5a4554412c20706869207068690a74686520e28094207468650a00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000010000000000000000000000000000000000000000000000000000000000000004000000000000000000000000000000000000000000000000000000000000000100000000000000000000000000000000000000000000000000000000000f4240";
        if (k == 9) return hex"00000000000000000000000000000000000000000000000000000000000000c000000000000000000000000000000000000000000000000000000000000001400000000000000000000000000000000000000000000000000000000000000180c73a4313752ab47d99227e023c4f118f9e5d5b7c0f1e1a252f89f706055a1ca9000000000000000000000000000000000000000000000000000000000000028000000000000000000000000000000000000000000000000000000000000002c0000000000000000000000000000000000000000000000000000000000000004e7468650a7369676d610a7461752e206b617070612c207068692e206b6170706120e28094207369676d612c20746865207369676d612c207461752e206e61c3af7665206e61c3af766520e28094200000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000001e1cd315cb363b87c410b151c10460ca35e0e5dd64da959dc5b14f9c17a04ba040000000000000000000000000000000000000000000000000000000000000001000000000000000000000000000000000000000000000000000000000000002000000000000000000000000000000000000000000000000000000000000000020000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000006000000000000000000000000000000000000000000000000000000000000000346f6d6963726f6e2074617520e28094205349474d41207468650a7369676d612c207461750a4b4150504120e28094207068692e2000000000000000000000000000000000000000000000000000000000000000000000000000000000000000010000000000000000000000000000000000000000000000000000000000000002000000000000000000000000000000000000000000000000000000000000000100000000000000000000000000000000000000000000000000000000000f4240";
        if (k == 10) return hex"00000000000000000000000000000000000000000000000000000000000000c0000000000000000000000000000000000000000000000000000000000000014000000000000000000000000000000000000000000000000000000000000001803412a92171100fd7e40b4f9542a4ce332d8b8d1604a501b4d2f74d31418db7b300000000000000000000000000000000000000000000000000000000000004e00000000000000000000000000000000000000000000000000000000000000500000000000000000000000000000000000000000000000000000000000000004d74617520e28094207a6574610acea96d6567612e206b617070612c206f662e20616e642c207369676d6120e28094204b41505041206b617070612e207461752c204f4d4943524f4e20e2809420000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000001fb240669a2890478978e493d074eb1da2df6211db4d916ed11e3c2a6a42e70b50000000000000000000000000000000000000000000000000000000000000003000000000000000000000000000000000000000000000000000000000000006000000000000000000000000000000000000000000000000000000000000001600000000000000000000000000000000000000000000000000000000000000260000000000000000000000000000000000000000000000000000000000000000100000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000060000000000000000000000000000000000000000000000000000000000000007e5349474d412c205349474d412c20757073696c6f6e0a7a6574612e20616e6420e28094206f6620cea96d6567610a5a45544120cea96d65676120e28094206f66206e61c3af76650a4b415050410a6e61c3af766520e28094206f660a616e642e207369676d610a6b61707061207369676d61205441552c205a4554412c2000000000000000000000000000000000000000000000000000000000000000000001000000000000000000000000000000000000000000000000000000000000000100000000000000000000000000000000000000000000000000000000000000600000000000000000000000000000000000000000000000000000000000000065757073696c6f6e2070686920e28094207369676d6120cea96d65676120e280942074686520616e6420e28094207369676d6120616e6420e28094206e61c3af76652c206b6170706120e28094206f662c20cea94d4547410a7461752e20757073696c6f6e20000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000300000000000000000000000000000000000000000000000000000000000000020000000000000000000000000000000000000000000000000000000000000060000000000000000000000000000000000000000000000000000000000000004e6f6d6963726f6e2c20414e442c205a4554410a414e442c206b617070612e207a6574610a7461750a544845207369676d6120e2809420616e6420e28094207068690a6e61c3af7665207461752e2000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000";
        if (k == 11) return hex"00000000000000000000000000000000000000000000000000000000000000c0000000000000000000000000000000000000000000000000000000000000016000000000000000000000000000000000000000000000000000000000000001a00191d37dcde75c55d0997a8b20f48f3524a77bdfe4f2fc4c5627ff712c1e90af00000000000000000000000000000000000000000000000000000000000003e000000000000000000000000000000000000000000000000000000000000004200000000000000000000000000000000000000000000000000000000000000064616e642e206b617070610a7461752e2070686920e28094207468652c207a65746120e28094206e61c3af766520e2809420cea96d6567612c206e61c3af766520cea96d6567612e204e41c38f56452e206e61c3af76652e20757073696c6f6e0a7461750a000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000001fca8d48a54dbeb2a03c17f2f1df2cb5a0711a2b673ff14fadc4bc4c95fc1a1b000000000000000000000000000000000000000000000000000000000000000020000000000000000000000000000000000000000000000000000000000000040000000000000000000000000000000000000000000000000000000000000010000000000000000000000000000000000000000000000000000000000000000020000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000006000000000000000000000000000000000000000000000000000000000000000286e61c3af76652c206e61c3af766520cea96d6567612e206e61c3af766520616e64206b617070610a000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000200000000000000000000000000000000000000000000000000000000000000010000000000000000000000000000000000000000000000000000000000000060000000000000000000000000000000000000000000000000000000000000008c7461752e20757073696c6f6e20e2809420616e6420757073696c6f6e0a74686520e28094204f462e206e61c3af76652074617520e28094205448452c205448450acea94d45474120616e6420e2809420706869207468652c207a6574612c206e61c3af76650acea96d6567612e206e61c3af76650a6e61c3af766520757073696c6f6e20e28094207461750a000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000010000000000000000000000000000000000000000000000000000000000000002000000000000000000000000000000000000000000000000000000000000000100000000000000000000000000000000000000000000000000000000000f4240";
        if (k == 12) return hex"00000000000000000000000000000000000000000000000000000000000000c000000000000000000000000000000000000000000000000000000000000000e00000000000000000000000000000000000000000000000000000000000000120f4c7f49a4497c3f6cfd57ecc6a77a743bc1648b954b7936f1f55508ddee3abab00000000000000000000000000000000000000000000000000000000000006e00000000000000000000000000000000000000000000000000000000000000700000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000013c3a6d7899194dbd9ee739d8b64f97cbe7bacc91db93bcdb9e7cc13aea94269e000000000000000000000000000000000000000000000000000000000000000500000000000000000000000000000000000000000000000000000000000000a0000000000000000000000000000000000000000000000000000000000000016000000000000000000000000000000000000000000000000000000000000002a000000000000000000000000000000000000000000000000000000000000003c000000000000000000000000000000000000000000000000000000000000004e000000000000000000000000000000000000000000000000000000000000000040000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000006000000000000000000000000000000000000000000000000000000000000000254f46206f6d6963726f6e2e206f662e207468650a7468652e205441550a74686520e280942000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000030000000000000000000000000000000000000000000000000000000000000001000000000000000000000000000000000000000000000000000000000000006000000000000000000000000000000000000000000000000000000000000000b37468652e207461750a757073696c6f6e207468650a757073696c6f6e2e206e61c3af766520e28094206f660a555053494c4f4e0a6e61c3af76652c206f6d6963726f6e20e28094207468652e206b617070610acea94d4547412c20757073696c6f6e2e204f462070686920e280942054484520e28094207369676d610a6f6d6963726f6e0a6b617070610a7461752e207369676d610a6f6d6963726f6e2e2074617520e28094206b617070612e207a657461200000000000000000000000000000000000000000000000000000000000000000000000000000000000000000020000000000000000000000000000000000000000000000000000000000000002000000000000000000000000000000000000000000000000000000000000006000000000000000000000000000000000000000000000000000000000000000996e61c3af7665206e61c3af7665207369676d61206b617070610acea96d6567610a6b617070612c207a6574610a757073696c6f6e20e28094206b61707061206f662e20cea94d4547410a6e61c3af76652e206e61c3af7665206f6620cea96d65676120e280942070686920e28094207a6574612c20616e640a7461752c206f6620e28094207369676d612e20616e6420e28094207068692c200000000000000000000000000000000000000000000000000000000000000000000000000000020000000000000000000000000000000000000000000000000000000000000003000000000000000000000000000000000000000000000000000000000000006000000000000000000000000000000000000000000000000000000000000000957461750a5349474d412e20cea96d6567610acea96d6567610a7a657461205a4554410a757073696c6f6e0a7461752e2074617520e2809420706869207068692c205448452c20414e442e20616e6420e2809420757073696c6f6e0a6e61c3af766520cea94d4547412c206f6d6963726f6e20e2809420616e6420cea96d656761204f4620cea96d6567610a746865207369676d61200000000000000000000000000000000000000000000000000000000000000000000000000000000000000200000000000000000000000000000000000000000000000000000000000000040000000000000000000000000000000000000000000000000000000000000060000000000000000000000000000000000000000000000000000000000000003b7468652c2070686920e2809420616e642c20746175207a65746120616e642c206f6d6963726f6e2c207a6574612c2074617520757073696c6f6e20000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000";
        if (k == 13) return hex"00000000000000000000000000000000000000000000000000000000000000c0000000000000000000000000000000000000000000000000000000000000012000000000000000000000000000000000000000000000000000000000000001608cca460f90aea866becbeb98df08d5a2d4aa4f95ad2d71d36c44dad1a0ef808c00000000000000000000000000000000000000000000000000000000000005a000000000000000000000000000000000000000000000000000000000000005c0000000000000000000000000000000000000000000000000000000000000002a5349474d412e20544845207468652c20757073696c6f6e2e20cea96d656761207468652e205048492c200000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000014c48e71e996c8b204023c3e0b4deafefced12279fffbc1faefae2a8f57dc06670000000000000000000000000000000000000000000000000000000000000004000000000000000000000000000000000000000000000000000000000000008000000000000000000000000000000000000000000000000000000000000001a000000000000000000000000000000000000000000000000000000000000002a00000000000000000000000000000000000000000000000000000000000000360000000000000000000000000000000000000000000000000000000000000000400000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000060000000000000000000000000000000000000000000000000000000000000008c7369676d612e20cea94d4547412c206f6d6963726f6e2c207461750a6f66206b6170706120e2809420cea96d65676120e28094206b617070610a74617520e280942070686920e2809420616e642c207468650a5048492e20cea96d6567610a54415520e28094204b415050410a7369676d610a74617520e2809420414e44204e41c38f56452c207a6574610a0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000400000000000000000000000000000000000000000000000000000000000000010000000000000000000000000000000000000000000000000000000000000060000000000000000000000000000000000000000000000000000000000000006d74686520e28094206e61c3af76652e20414e4420e28094207369676d6120e28094205448452c20757073696c6f6e2c206f6d6963726f6e20e28094206f6d6963726f6e2e206b617070612c205349474d412e207068692e20616e64205048492c207468652054484520e28094200000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000020000000000000000000000000000000000000000000000000000000000000002000000000000000000000000000000000000000000000000000000000000006000000000000000000000000000000000000000000000000000000000000000286e61c3af76650a7a6574610a7468650a70686920414e442c20cea96d65676120e280942074686520000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000200000000000000000000000000000000000000000000000000000000000000030000000000000000000000000000000000000000000000000000000000000060000000000000000000000000000000000000000000000000000000000000003d7a657461206f6d6963726f6e20757073696c6f6e2e204f4620e28094206b617070610a4b415050410a5349474d410a616e642c207461752c206f662c2000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000";
        if (k == 14) return hex"00000000000000000000000000000000000000000000000000000000000000c000000000000000000000000000000000000000000000000000000000000000e00000000000000000000000000000000000000000000000000000000000000120af99d987ba2f4a0ea1ab018d3a31d657bc862e475eb2827d9fbe2ebfd8727c6d00000000000000000000000000000000000000000000000000000000000005a000000000000000000000000000000000000000000000000000000000000005c00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000122a2c45b0a1c55d9825169118a16381e7fe552219f85aa80d199d533410e67080000000000000000000000000000000000000000000000000000000000000004000000000000000000000000000000000000000000000000000000000000008000000000000000000000000000000000000000000000000000000000000001800000000000000000000000000000000000000000000000000000000000000240000000000000000000000000000000000000000000000000000000000000032000000000000000000000000000000000000000000000000000000000000000030000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000006000000000000000000000000000000000000000000000000000000000000000746b617070610a6f6d6963726f6e2c20757073696c6f6e2e207a6574610a7461752c206b617070612c207468652e205a4554410a6e61c3af76650a616e640a757073696c6f6e20e28094207a6574610a6f6620e2809420555053494c4f4e207461752e20616e640acea96d6567612e207068692e2000000000000000000000000000000000000000000000000000000000000000000000000000000000000000030000000000000000000000000000000000000000000000000000000000000001000000000000000000000000000000000000000000000000000000000000006000000000000000000000000000000000000000000000000000000000000000217468652e20544155204b4150504120e2809420706869206b6170706120e280942000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000100000000000000000000000000000000000000000000000000000000000000020000000000000000000000000000000000000000000000000000000000000060000000000000000000000000000000000000000000000000000000000000004c7461752e206f662c206e61c3af7665207068690a7468652c204e41c38f56452e20cea96d6567612c20cea94d4547412c20414e442e206f6d6963726f6e207a6574612c20555053494c4f4e20000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000010000000000000000000000000000000000000000000000000000000000000003000000000000000000000000000000000000000000000000000000000000006000000000000000000000000000000000000000000000000000000000000000aa7369676d612e207068692c20757073696c6f6e2c204f460a6f6d6963726f6e2e207a65746120e28094206e61c3af76652e2070686920e28094207369676d610a746865205a45544120e2809420757073696c6f6e2c207a657461206e61c3af76652c205448452c206f6d6963726f6e0a6b617070610a54484520e2809420616e6420e28094205448450a7a6574612e207a6574612e207a6574612e206b617070610a5448450a616e64200000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000";
        if (k == 15) return hex"00000000000000000000000000000000000000000000000000000000000000c000000000000000000000000000000000000000000000000000000000000001400000000000000000000000000000000000000000000000000000000000000180fe1c457c8a7cbb87bda51ce605e3ae35368b86282e273ad28f64db8f8aba7b4a00000000000000000000000000000000000000000000000000000000000004c000000000000000000000000000000000000000000000000000000000000005000000000000000000000000000000000000000000000000000000000000000049616e64207a6574612e20544845204e41c38f56450a7369676d612e2074617520e28094206b61707061206f6d6963726f6e2c205448450a555053494c4f4e20e28094207369676d610a000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000018606e14956096a410b1de4e4224dd3174cda31a4b5cb66f8db2c1838a0ab460400000000000000000000000000000000000000000000000000000000000000030000000000000000000000000000000000000000000000000000000000000060000000000000000000000000000000000000000000000000000000000000018000000000000000000000000000000000000000000000000000000000000002800000000000000000000000000000000000000000000000000000000000000002000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000600000000000000000000000000000000000000000000000000000000000000094cea96d6567612c206b6170706120414e44207a6574612e2074686520e28094206e61c3af76652e205349474d412e20746175206b6170706120e28094206f6d6963726f6e0a7468652e205441552e207461752c2070686920616e64207a65746120e2809420616e640a6f660a7a657461207369676d612e20cea94d45474120e2809420616e6420e28094207068692e207461750a00000000000000000000000000000000000000000000000000000000000000000000000000000000000000030000000000000000000000000000000000000000000000000000000000000001000000000000000000000000000000000000000000000000000000000000006000000000000000000000000000000000000000000000000000000000000000637a6574612e20757073696c6f6e20e28094207a6574610acea96d6567610a757073696c6f6e2074686520e28094206b6170706120757073696c6f6e2c20616e642c2054484520616e6420e28094206b617070612e206b61707061205441550a7468650a0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000100000000000000000000000000000000000000000000000000000000000000020000000000000000000000000000000000000000000000000000000000000060000000000000000000000000000000000000000000000000000000000000001e616e642c20757073696c6f6e20e28094206f6d6963726f6e2e205448450a000000000000000000000000000000000000000000000000000000000000000000010000000000000000000000000000000000000000000000000000000000000002000000000000000000000000000000000000000000000000000000000000000100000000000000000000000000000000000000000000000000000000000f4240";
        if (k == 16) return hex"00000000000000000000000000000000000000000000000000000000000000c000000000000000000000000000000000000000000000000000000000000000e000000000000000000000000000000000000000000000000000000000000001207ec9c97280e105c71327ac69e37955cd8dbd5e1c0fc9292c408db62290c628a400000000000000000000000000000000000000000000000000000000000007000000000000000000000000000000000000000000000000000000000000000720000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000018352d13ae030317ce6a98b10bd69c358ea576147badb1f74b755b08cd96ace20000000000000000000000000000000000000000000000000000000000000000500000000000000000000000000000000000000000000000000000000000000a000000000000000000000000000000000000000000000000000000000000001c00000000000000000000000000000000000000000000000000000000000000300000000000000000000000000000000000000000000000000000000000000042000000000000000000000000000000000000000000000000000000000000005200000000000000000000000000000000000000000000000000000000000000003000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000600000000000000000000000000000000000000000000000000000000000000097cea94d4547412c205048492e207a6574612c204f4d4943524f4e2c20616e642e2074686520e280942074686520e2809420cea96d65676120e28094206f6d6963726f6e2c206f6d6963726f6e2e20757073696c6f6e20e2809420616e6420e28094205048492e206b617070612e204e41c38f5645206e61c3af76652e207369676d610a70686920e28094207468652c206e61c3af76652000000000000000000000000000000000000000000000000000000000000000000000000000000000020000000000000000000000000000000000000000000000000000000000000001000000000000000000000000000000000000000000000000000000000000006000000000000000000000000000000000000000000000000000000000000000bf6f6d6963726f6e2e206b617070610a6e61c3af7665206b61707061207461752e20cea94d4547410a5349474d412e207461750a7068692c20757073696c6f6e2c207369676d612e204b4150504120e28094206f6620e2809420757073696c6f6e2e20616e6420e28094206f660a6e61c3af7665206b617070610a4f4d4943524f4e2c20616e6420e2809420414e442e207a657461207468652c20414e4420555053494c4f4e20e2809420616e642e20616e6420e2809420757073696c6f6e0a00000000000000000000000000000000000000000000000000000000000000000200000000000000000000000000000000000000000000000000000000000000020000000000000000000000000000000000000000000000000000000000000060000000000000000000000000000000000000000000000000000000000000009f6f6d6963726f6e2e2074617520e28094207a6574610a4f4d4943524f4e20555053494c4f4e2e204e41c38f564520e2809420cea96d6567610a746175206f6d6963726f6e20e28094207461752e206f6d6963726f6e20414e442e2070686920e28094207468650a6e61c3af766520616e642c204e41c38f56452e20555053494c4f4e2e207a65746120e28094206b6170706120e2809420414e4420e280942000000000000000000000000000000000000000000000000000000000000000000100000000000000000000000000000000000000000000000000000000000000030000000000000000000000000000000000000000000000000000000000000060000000000000000000000000000000000000000000000000000000000000007b5048490a757073696c6f6e2e20757073696c6f6e20e28094206f660acea94d4547412c20414e442c206e61c3af76652e207369676d610a757073696c6f6e0acea94d4547412e20cea96d6567610acea94d45474120e28094206b617070610a757073696c6f6e2e207461750a6f6d6963726f6e205349474d412e200000000000000000000000000000000000000000000000000000000000000000000000000300000000000000000000000000000000000000000000000000000000000000040000000000000000000000000000000000000000000000000000000000000060000000000000000000000000000000000000000000000000000000000000000d616e642e20757073696c6f6e200000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000";
        if (k == 17) return hex"00000000000000000000000000000000000000000000000000000000000000c000000000000000000000000000000000000000000000000000000000000000e00000000000000000000000000000000000000000000000000000000000000120936b9d6355b3fcceefe70d5ccd4622ef5e17f8b7eeacab0ee8c1fa9703c12e8200000000000000000000000000000000000000000000000000000000000003600000000000000000000000000000000000000000000000000000000000000380000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000013a744d5a4d1394cd0094ae0f171a2a2b31b7e5ad027b45aebd19228fb036424e00000000000000000000000000000000000000000000000000000000000000020000000000000000000000000000000000000000000000000000000000000040000000000000000000000000000000000000000000000000000000000000014000000000000000000000000000000000000000000000000000000000000000020000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000006000000000000000000000000000000000000000000000000000000000000000716f6d6963726f6e2e20555053494c4f4e0acea96d656761204b415050412c205a45544120e28094204f462e207068692c20616e642c207369676d612e2070686920e28094206f6d6963726f6e2074686520e28094206f662e206e61c3af766520e28094206f662c20555053494c4f4e2e2000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000040000000000000000000000000000000000000000000000000000000000000001000000000000000000000000000000000000000000000000000000000000006000000000000000000000000000000000000000000000000000000000000000446f6d6963726f6e2c20cea94d454741206b6170706120e280942070686920e28094206b61707061207369676d612e206b617070610a616e6420cea96d65676120e28094200000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000";
        if (k == 18) return hex"00000000000000000000000000000000000000000000000000000000000000c000000000000000000000000000000000000000000000000000000000000001000000000000000000000000000000000000000000000000000000000000000140b25901a6968c9900d6268f7b9487bef1aedfb42230532e2bd453c9c96a1e39ff0000000000000000000000000000000000000000000000000000000000000240000000000000000000000000000000000000000000000000000000000000026000000000000000000000000000000000000000000000000000000000000000164b4150504120e28094204e41c38f56450a616e642c2000000000000000000000000000000000000000000000000000000000000000000000000000000000000157321231a9512179deb37bf4c81010093ba7979934bb3bea6d5bef5d69bd476b000000000000000000000000000000000000000000000000000000000000000100000000000000000000000000000000000000000000000000000000000000200000000000000000000000000000000000000000000000000000000000000003000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000600000000000000000000000000000000000000000000000000000000000000028757073696c6f6e20e280942070686920e28094206f6620e2809420cea96d656761206b617070612000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000";
        if (k == 19) return hex"00000000000000000000000000000000000000000000000000000000000000c000000000000000000000000000000000000000000000000000000000000000e000000000000000000000000000000000000000000000000000000000000001201cb1c3b9739e638441ebc2d10c774000ef1f1adf9996450d0d3c9c4fdd0b900d000000000000000000000000000000000000000000000000000000000000028000000000000000000000000000000000000000000000000000000000000002a00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000145d032f1bef9f266337e55f13aeb072452561eaa1fd73581efb1e47bdf89564d00000000000000000000000000000000000000000000000000000000000000010000000000000000000000000000000000000000000000000000000000000020000000000000000000000000000000000000000000000000000000000000000300000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000060000000000000000000000000000000000000000000000000000000000000009dcea96d65676120e28094206e61c3af76652c207461752c206e61c3af76650a6b6170706120e28094207369676d610a7461752c207461752074686520e28094206b617070610a7068690a6e61c3af76650a7369676d6120e28094206f6d6963726f6e0a757073696c6f6e2e20544845206f66206e61c3af76650acea96d656761207a6574610a746865207461752e20616e642c206f6d6963726f6e2c2000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000";
        if (k == 20) return hex"00000000000000000000000000000000000000000000000000000000000000c0000000000000000000000000000000000000000000000000000000000000016000000000000000000000000000000000000000000000000000000000000001a0e2ae5a40d2e8bbb136d5d5989432b3208cbba0ea8e871baf0073ed1af29c3f7e000000000000000000000000000000000000000000000000000000000000048000000000000000000000000000000000000000000000000000000000000004c00000000000000000000000000000000000000000000000000000000000000080414e442c2074617520e28094204f4d4943524f4e0a7461750a7a657461206b617070612c207369676d610a757073696c6f6e2e206f6d6963726f6e2c206f6620616e64205448450a6f662e206b6170706120e28094207369676d6120e2809420757073696c6f6e0a6f6d6963726f6e206f660a616e642c20757073696c6f6e200000000000000000000000000000000000000000000000000000000000000001cbeaef5579f48e3ae965cdcdae8e1c23756241072406d0d09e038e381be7345700000000000000000000000000000000000000000000000000000000000000020000000000000000000000000000000000000000000000000000000000000040000000000000000000000000000000000000000000000000000000000000018000000000000000000000000000000000000000000000000000000000000000010000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000006000000000000000000000000000000000000000000000000000000000000000af4b415050412e207068692c207a6574612c20757073696c6f6e2e207a6574612e205a4554412c20706869206f662c20616e642c206f66206f662e207461752e20555053494c4f4e206e61c3af76652c207369676d610a6f6620e28094205349474d410a616e640a5a45544120e28094207369676d610acea96d6567612e207068690a6b617070610a7369676d6120e2809420555053494c4f4e20e28094206f6d6963726f6e0a6f662c20414e442e20000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000010000000000000000000000000000000000000000000000000000000000000001000000000000000000000000000000000000000000000000000000000000006000000000000000000000000000000000000000000000000000000000000000ad6e61c3af76650a6e61c3af76652c20cea96d65676120e28094205048490a7a6574612c204f460a5048492e206e61c3af766520e28094207a65746120e28094207369676d612c207468652c20414e440a7369676d61204f460a616e640a7468650a7461752c206e61c3af766520e28094206e61c3af76650a7468650a7369676d612e206b617070612c207a657461207461750a4f4d4943524f4e2e205441550a6b617070612c206b617070610a0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000010000000000000000000000000000000000000000000000000000000000000001000000000000000000000000000000000000000000000000000000000000000100000000000000000000000000000000000000000000000000000000000f4240";
        if (k == 21) return hex"00000000000000000000000000000000000000000000000000000000000000c0000000000000000000000000000000000000000000000000000000000000014000000000000000000000000000000000000000000000000000000000000001800462515422bea7673fddf11f22325c8e085b338bf4ac52b6509226bf8f4bab8d00000000000000000000000000000000000000000000000000000000000007a000000000000000000000000000000000000000000000000000000000000008000000000000000000000000000000000000000000000000000000000000000055544155207468650acea96d6567612c207369676d612e205048492c205349474d412e206b6170706120616e642c206e61c3af76652e20746175205a4554412e207461752c20cea94d45474120e28094205a4554410a0000000000000000000000000000000000000000000000000000000000000000000000000000000000000162519183416b0b2f1185ddccad46f3648dc381ee5edd5f9a6dbfd106a81aab72000000000000000000000000000000000000000000000000000000000000000500000000000000000000000000000000000000000000000000000000000000a00000000000000000000000000000000000000000000000000000000000000200000000000000000000000000000000000000000000000000000000000000032000000000000000000000000000000000000000000000000000000000000003a000000000000000000000000000000000000000000000000000000000000004e000000000000000000000000000000000000000000000000000000000000000040000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000006000000000000000000000000000000000000000000000000000000000000000d87a6574612e207a65746120e28094207a65746120e28094206e61c3af766520e2809420757073696c6f6e206e61c3af76650a5441552c206f662c2074617520e2809420616e6420e28094206f6d6963726f6e0a616e64207369676d6120555053494c4f4e2c207a65746120e28094206e61c3af766520e2809420757073696c6f6e0a6b6170706120e28094206f6d6963726f6e2e207068692e207a6574612e204f4d4943524f4e0a7468650a7369676d6120e28094207468650acea96d6567612e206f6d6963726f6e207068692e206f6d6963726f6e2e200000000000000000000000000000000000000000000000000000000000000000000000000000000300000000000000000000000000000000000000000000000000000000000000010000000000000000000000000000000000000000000000000000000000000060000000000000000000000000000000000000000000000000000000000000009c74686520e280942074686520706869204b415050412c207461752c205349474d412e206b6170706120414e440acea94d4547412c20cea94d45474120616e6420e28094206b617070612c206f662e2074617520616e6420e2809420757073696c6f6e0a7a657461206f6d6963726f6e2c207461752e207468652c20cea94d4547410a7369676d612c2074686520746175206e61c3af766520e280942000000000000000000000000000000000000000000000000000000000000000000000000400000000000000000000000000000000000000000000000000000000000000020000000000000000000000000000000000000000000000000000000000000060000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000030000000000000000000000000000000000000000000000000000000000000003000000000000000000000000000000000000000000000000000000000000006000000000000000000000000000000000000000000000000000000000000000b274617520e28094207068692c207369676d612e207068692e206e61c3af766520e28094205441552070686920e28094206e61c3af7665204f4d4943524f4e2e206f6620e28094207369676d61206f6d6963726f6e204f462c207461752c207a6574612c207369676d612e20cea96d6567612e206e61c3af76652e207468652c20616e640a6f6d6963726f6e0a757073696c6f6e2e2054484520e28094207369676d612c205349474d4120cea96d6567612e20000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000040000000000000000000000000000000000000000000000000000000000000004000000000000000000000000000000000000000000000000000000000000006000000000000000000000000000000000000000000000000000000000000000946e61c3af76652074617520e28094207a6574610a74617520cea94d4547410a7068692c204f4d4943524f4e2e20cea96d6567612c207a6574610a6f660a70686920e280942074686520e2809420757073696c6f6e20e28094206f662e207a6574610a7468652e207468650a757073696c6f6e0a5349474d4120e2809420616e642c207369676d612c206b6170706120616e642c2000000000000000000000000000000000000000000000000000000000000000000000000000000000000000020000000000000000000000000000000000000000000000000000000000000003000000000000000000000000000000000000000000000000000000000000000400000000000000000000000000000000000000000000000000000000000000020000000000000000000000000000000000000000000000000000000000061a8000000000000000000000000000000000000000000000000000000000000927c0";
        if (k == 22) return hex"00000000000000000000000000000000000000000000000000000000000000c000000000000000000000000000000000000000000000000000000000000001200000000000000000000000000000000000000000000000000000000000000160551abca20de53ec1c26104e05dde5ac4c9a43d4bd881cfd827f3b38d86656f40000000000000000000000000000000000000000000000000000000000000036000000000000000000000000000000000000000000000000000000000000003a0000000000000000000000000000000000000000000000000000000000000002f746175206b617070612c207369676d612c206e61c3af76652c206f6620414e4420cea94d4547412e207a6574612e200000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000108d5f8a7a52b06a9eab701a7b6540d3c69c67a3cb23c5cdf6a0ddb2a17445b9200000000000000000000000000000000000000000000000000000000000000020000000000000000000000000000000000000000000000000000000000000040000000000000000000000000000000000000000000000000000000000000010000000000000000000000000000000000000000000000000000000000000000040000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000006000000000000000000000000000000000000000000000000000000000000000297468652e204e41c38f564520e28094206f6d6963726f6e2c206e61c3af7665204f4d4943524f4e2e200000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000100000000000000000000000000000000000000000000000000000000000000010000000000000000000000000000000000000000000000000000000000000060000000000000000000000000000000000000000000000000000000000000004a7369676d612c207468652c20746175206b6170706120e28094207369676d61206e61c3af76652e204f4620e2809420414e442c20cea94d454741206b617070612e206e61c3af76652e200000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000010000000000000000000000000000000000000000000000000000000000000001000000000000000000000000000000000000000000000000000000000000000100000000000000000000000000000000000000000000000000000000000f4240";
        if (k == 23) return hex"00000000000000000000000000000000000000000000000000000000000000c000000000000000000000000000000000000000000000000000000000000001000000000000000000000000000000000000000000000000000000000000000140a5c90c663a54c3a4ce3fe4e8ef44a68d68e9b0c8d3253a78421d6b96e46e8e7700000000000000000000000000000000000000000000000000000000000006400000000000000000000000000000000000000000000000000000000000000660000000000000000000000000000000000000000000000000000000000000000f757073696c6f6e2e207369676d610a00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000001a47b425f16c2ab6b651e5843d6b54c7c8a7064fab00ed988cde50a317a8606830000000000000000000000000000000000000000000000000000000000000004000000000000000000000000000000000000000000000000000000000000008000000000000000000000000000000000000000000000000000000000000001a0000000000000000000000000000000000000000000000000000000000000024000000000000000000000000000000000000000000000000000000000000003a000000000000000000000000000000000000000000000000000000000000000040000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000006000000000000000000000000000000000000000000000000000000000000000a06b617070610a74617520e28094207068690a7369676d612c204f4d4943524f4e207369676d610a7a6574612e2074617520e28094207a657461207369676d612c207a6574612e206e61c3af76652c205048492e20757073696c6f6e0acea94d4547410a746175207068690a70686920cea96d65676120e2809420cea96d6567610a4f4d4943524f4e2c20555053494c4f4e207461752c207461752e20746865200000000000000000000000000000000000000000000000000000000000000002000000000000000000000000000000000000000000000000000000000000000100000000000000000000000000000000000000000000000000000000000000600000000000000000000000000000000000000000000000000000000000000008757073696c6f6e2000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000010000000000000000000000000000000000000000000000000000000000000002000000000000000000000000000000000000000000000000000000000000006000000000000000000000000000000000000000000000000000000000000000cb7369676d610a6f6d6963726f6e2e207a6574610a7a65746120cea96d6567612c204f4d4943524f4e0a6f6620e280942070686920cea96d65676120cea96d65676120e28094207a65746120e280942070686920e28094205448452c20555053494c4f4e20e28094206e61c3af766520cea96d6567612c20555053494c4f4e2e205448450a4f4d4943524f4e20e28094207461752e20cea96d656761206f6d6963726f6e204e41c38f564520e280942054415520555053494c4f4e207068692e20cea94d45474120e280942000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000020000000000000000000000000000000000000000000000000000000000000003000000000000000000000000000000000000000000000000000000000000006000000000000000000000000000000000000000000000000000000000000000ae616e640a70686920e28094207a6574612e207068692e20746865204e41c38f56450a70686920e280942074686520cea94d4547412c20616e64206e61c3af76652c207369676d612e20555053494c4f4e206f6d6963726f6e2c207461752e207369676d61207461752e20616e6420e28094206b617070612e20cea96d65676120e28094206e61c3af766520e28094204f462e207468650a74617520e280942050484920e28094204b415050412e2000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000";
        if (k == 24) return hex"00000000000000000000000000000000000000000000000000000000000000c000000000000000000000000000000000000000000000000000000000000001200000000000000000000000000000000000000000000000000000000000000160610a175ef1e4d8706266dbc7ad7ff491593fe3825e64a1acf59d49742ae59b0d00000000000000000000000000000000000000000000000000000000000002e00000000000000000000000000000000000000000000000000000000000000320000000000000000000000000000000000000000000000000000000000000003c7a6574612c204f462e20cea96d6567612e20414e442c207461752e205349474d412c20757073696c6f6e0a6b61707061207468652c206b6170706120000000000000000000000000000000000000000000000000000000000000000000000001008e48a94528b288557f8019fc959393041f919a59f2816aa54c3f3d8f9d8c6c0000000000000000000000000000000000000000000000000000000000000001000000000000000000000000000000000000000000000000000000000000002000000000000000000000000000000000000000000000000000000000000000010000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000006000000000000000000000000000000000000000000000000000000000000000aa706869207a65746120e28094206f6620cea96d65676120616e64207461752c207369676d610a555053494c4f4e20e2809420757073696c6f6e2c206b617070612c20746865204f46207468652c205048492e206f662c20746865206e61c3af76652e206f6620e28094206b617070612e207468650a706869205349474d410a7a65746120e28094204e41c38f5645207068690a6b617070612c207a6574610a7369676d610a7068692e200000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000010000000000000000000000000000000000000000000000000000000000000001000000000000000000000000000000000000000000000000000000000000000100000000000000000000000000000000000000000000000000000000000f4240";
        revert("no such vector");
    }

    bytes32 internal constant SNAPSHOT_ROOT = 0xbcc7f3a0475034cabecae86a53701ddfecbe178bbc17daf7c30e026949f15ff6;
    bytes32 internal constant DISHONEST_RECORD = 0xa6000028c301b0f8a91afc42cc08408e7c5adc14245f75c700b0fb64ec154cc1;
    bytes internal constant DISHONEST_EVIDENCE = hex"000000000000000000000000000000000000000000000000000000000000002000000000000000000000000000000000000000000000000000000000000000c0b7aa91727beb471464faa785955b9c5d14a13a33561ba2436c578fd26c054537000000000000000000000000000000000000000000000000000000000000016000000000000000000000000000000000000000000000000000000000000001a000000000000000000000000000000000000000000000000000000000000002400000000000000000000000000000000000000000000000000000000000000260000000000000000000000000000000000000000000000000000000000000007f46756e2066616374733a206f63746f707573657320686176652074687265652068656172747320616e6420626c756520636f707065722d626173656420626c6f6f642c20616e6420686f6e65796265657320636f6d6d756e696361746520666c6f776572206c6f636174696f6e73207468726f7567682064616e63696e672e00000000000000000000000000000000000000000000000000000000000000000100000000000000000000000000000000000000000000000000000000000000010000000000000000000000000000000000000000000000000000000000000002000000000000000000000000000000000000000000000000000000000000000200000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000003000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000003000000000000000000000000000000000000000000000000000000000000006000000000000000000000000000000000000000000000000000000000000001c000000000000000000000000000000000000000000000000000000000000003200000000000000000000000000000000000000000000000000000000000000002000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000a000000000000000000000000000000000000000000000000000000000000000010000000000000000000000000000000000000000000000000000000000000100000000000000000000000000000000000000000000000000000000000000003e486f6e65796265657320636f6d6d756e696361746520666c6f776572206c6f636174696f6e73207468726f756768206120776167676c652064616e63652e000000000000000000000000000000000000000000000000000000000000000000021c3edba009453cd0e6aeb2705f99979231c915d6323fb541147cda7e7ce410bd6d83936c6894061cce3ab704ea79dd33fcf5c6831301a000192794a086f22ee20000000000000000000000000000000000000000000000000000000000000003000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000a00000000000000000000000000000000000000000000000000000000000000001000000000000000000000000000000000000000000000000000000000000010000000000000000000000000000000000000000000000000000000000000000384f63746f707573657320686176652074687265652068656172747320616e6420626c756520636f707065722d626173656420626c6f6f642e0000000000000000000000000000000000000000000000000000000000000000000000000000000247dfecb463de0629bce910882cb6fb5479a4bdf3350d54380cee3ad7442a50fc0ee171d005e8f5fe719493565cc975814a126a56a2425e2d80500424a4bed7c00000000000000000000000000000000000000000000000000000000000000001000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000a00000000000000000000000000000000000000000000000000000000000000001000000000000000000000000000000000000000000000000000000000000010000000000000000000000000000000000000000000000000000000000000000384f63746f707573657320686176652074687265652068656172747320616e6420626c756520636f707065722d626173656420626c6f6f642e00000000000000000000000000000000000000000000000000000000000000000000000000000002ac7e43bfaff5259f53c3305955b7d9e2f66914789e2204c9ef35eeceedd097a16d83936c6894061cce3ab704ea79dd33fcf5c6831301a000192794a086f22ee2";
    bytes internal constant FORGED_EVIDENCE = hex"000000000000000000000000000000000000000000000000000000000000002000000000000000000000000000000000000000000000000000000000000000c0b7aa91727beb471464faa785955b9c5d14a13a33561ba2436c578fd26c054537000000000000000000000000000000000000000000000000000000000000016000000000000000000000000000000000000000000000000000000000000001a000000000000000000000000000000000000000000000000000000000000002400000000000000000000000000000000000000000000000000000000000000260000000000000000000000000000000000000000000000000000000000000007f46756e2066616374733a206f63746f707573657320686176652074687265652068656172747320616e6420626c756520636f707065722d626173656420626c6f6f642c20616e6420686f6e65796265657320636f6d6d756e696361746520666c6f776572206c6f636174696f6e73207468726f7567682064616e63696e672e00000000000000000000000000000000000000000000000000000000000000000100000000000000000000000000000000000000000000000000000000000000010000000000000000000000000000000000000000000000000000000000000002000000000000000000000000000000000000000000000000000000000000000200000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000003000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000003000000000000000000000000000000000000000000000000000000000000006000000000000000000000000000000000000000000000000000000000000001c000000000000000000000000000000000000000000000000000000000000003200000000000000000000000000000000000000000000000000000000000000002000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000a000000000000000000000000000000000000000000000000000000000000000010000000000000000000000000000000000000000000000000000000000000100000000000000000000000000000000000000000000000000000000000000003e486f6e65796265657320636f6d6d756e696361746520666c6f776572206c6f636174696f6e73207468726f756768206120776167676c652064616e63652e000000000000000000000000000000000000000000000000000000000000000000021c3edba009453cd0e6aeb2705f99979231c915d6323fb541147cda7e7ce410bd6d83936c6894061cce3ab704ea79dd33fcf5c6831301a000192794a086f22ee20000000000000000000000000000000000000000000000000000000000000003000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000a00000000000000000000000000000000000000000000000000000000000000001000000000000000000000000000000000000000000000000000000000000010000000000000000000000000000000000000000000000000000000000000000384f63746f707573657320686176652074687265652068656172747320616e6420626c756520636f707065722d626173656420626c6f6f642e0000000000000000000000000000000000000000000000000000000000000000000000000000000247dfecb463de0629bce910882cb6fb5479a4bdf3350d54380cee3ad7442a50fc0ee171d005e8f5fe719493565cc975814a126a56a2425e2d80500424a4bed7c00000000000000000000000000000000000000000000000000000000000000001000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000a00000000000000000000000000000000000000000000000000000000000000001000000000000000000000000000000000000000000000000000000000000010000000000000000000000000000000000000000000000000000000000000000384f63746f707573657320686176652074687265652068656172747320616e6420626c756520636f707065722d626173656420626c6f6f642100000000000000000000000000000000000000000000000000000000000000000000000000000002ac7e43bfaff5259f53c3305955b7d9e2f66914789e2204c9ef35eeceedd097a16d83936c6894061cce3ab704ea79dd33fcf5c6831301a000192794a086f22ee2";
    bytes32 internal constant HONEST_RECORD = 0x69831df86f57693903d73583105e5bc138a1c4c954a9c909b481089298a59012;
    bytes internal constant HONEST_EVIDENCE = hex"000000000000000000000000000000000000000000000000000000000000002000000000000000000000000000000000000000000000000000000000000000c04b904ecd855198b575f0fad2ee259e3d866cb298dcbea33341ffff365789f27a000000000000000000000000000000000000000000000000000000000000016000000000000000000000000000000000000000000000000000000000000001a000000000000000000000000000000000000000000000000000000000000002400000000000000000000000000000000000000000000000000000000000000260000000000000000000000000000000000000000000000000000000000000007f46756e2066616374733a206f63746f707573657320686176652074687265652068656172747320616e6420626c756520636f707065722d626173656420626c6f6f642c20616e6420686f6e65796265657320636f6d6d756e696361746520666c6f776572206c6f636174696f6e73207468726f7567682064616e63696e672e00000000000000000000000000000000000000000000000000000000000000000100000000000000000000000000000000000000000000000000000000000000010000000000000000000000000000000000000000000000000000000000000002000000000000000000000000000000000000000000000000000000000000000100000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000002000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000004000000000000000000000000000000000000000000000000000000000000008000000000000000000000000000000000000000000000000000000000000001e0000000000000000000000000000000000000000000000000000000000000034000000000000000000000000000000000000000000000000000000000000004a00000000000000000000000000000000000000000000000000000000000000001000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000a00000000000000000000000000000000000000000000000000000000000000001000000000000000000000000000000000000000000000000000000000000010000000000000000000000000000000000000000000000000000000000000000384f63746f707573657320686176652074687265652068656172747320616e6420626c756520636f707065722d626173656420626c6f6f642e00000000000000000000000000000000000000000000000000000000000000000000000000000002ac7e43bfaff5259f53c3305955b7d9e2f66914789e2204c9ef35eeceedd097a16d83936c6894061cce3ab704ea79dd33fcf5c6831301a000192794a086f22ee20000000000000000000000000000000000000000000000000000000000000002000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000a000000000000000000000000000000000000000000000000000000000000000010000000000000000000000000000000000000000000000000000000000000100000000000000000000000000000000000000000000000000000000000000003e486f6e65796265657320636f6d6d756e696361746520666c6f776572206c6f636174696f6e73207468726f756768206120776167676c652064616e63652e000000000000000000000000000000000000000000000000000000000000000000021c3edba009453cd0e6aeb2705f99979231c915d6323fb541147cda7e7ce410bd6d83936c6894061cce3ab704ea79dd33fcf5c6831301a000192794a086f22ee20000000000000000000000000000000000000000000000000000000000000004000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000a000000000000000000000000000000000000000000000000000000000000000010000000000000000000000000000000000000000000000000000000000000100000000000000000000000000000000000000000000000000000000000000003653617475726e27732072696e677320617265206d616465206d6f73746c79206f6620776174657220696365207061727469636c65732e00000000000000000000000000000000000000000000000000000000000000000000000000000000000238850f3cd9ff96ee1050ddc16f089e3dccec605a9b8a467062d819e28228931f0ee171d005e8f5fe719493565cc975814a126a56a2425e2d80500424a4bed7c00000000000000000000000000000000000000000000000000000000000000003000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000a00000000000000000000000000000000000000000000000000000000000000001000000000000000000000000000000000000000000000000000000000000010000000000000000000000000000000000000000000000000000000000000000384f63746f707573657320686176652074687265652068656172747320616e6420626c756520636f707065722d626173656420626c6f6f642e0000000000000000000000000000000000000000000000000000000000000000000000000000000247dfecb463de0629bce910882cb6fb5479a4bdf3350d54380cee3ad7442a50fc0ee171d005e8f5fe719493565cc975814a126a56a2425e2d80500424a4bed7c0";
    // END GENERATED
}
