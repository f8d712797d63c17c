// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {console} from "forge-std/console.sol";
import {InferenceSettlement} from "../src/InferenceSettlement.sol";
import {SpanText} from "../src/attribution/SpanText.sol";
import {SpanV2} from "../src/attribution/SpanV2.sol";
import {SpanV2Verifier} from "../src/attribution/SpanV2Verifier.sol";
import {SpanVerifier} from "../src/attribution/SpanVerifier.sol";
import {IAttributionVerifier} from "../src/interfaces/IAttributionVerifier.sol";
import {IDatanetRegistry} from "../src/interfaces/IDatanetRegistry.sol";
import {Payout, SumNode} from "../src/libraries/RecordTree.sol";
import {Merkle} from "./utils/Merkle.sol";
import {SpanVerifierFixture} from "./utils/SpanVerifierFixture.sol";
import {Records} from "./utils/Records.sol";

/// @notice Exposes the library as an external call, so gas is measured per computation.
contract SpanV2VerifierHarness {
    function compute(bytes memory output, bytes32[] memory roots, SpanText.Chunk[] memory chunks)
        external
        pure
        returns (bytes32 commitment, SpanText.Credit[] memory credits, SpanV2.Segment[] memory segments)
    {
        return SpanV2.compute(output, roots, chunks);
    }
}

/// @notice span-v2 records judged on the shared snapshot (SpanVerifierFixture), whose third fact is a later
/// copy of the first extended by one word on each side ("facts: <fact>, and"), which span-v1 would pay in
/// full for this output and span-v2 pays nothing.
contract SpanV2VerifierTest is SpanVerifierFixture {
    SpanV2VerifierHarness internal harness;
    SpanV2Verifier internal verifier;

    struct Scenario {
        bytes attribution;
        Payout[] payouts;
        SpanText.Credit[] credits;
        SpanV2.Segment[] segments;
        uint256 batchId;
        InferenceSettlement.Record record;
    }

    function _deployVerifier() internal override returns (IAttributionVerifier) {
        harness = new SpanV2VerifierHarness();
        verifier = new SpanV2Verifier(IDatanetRegistry(address(datanets)), settlement, false);
        return verifier;
    }

    function _copyOfTheFirstFact() internal pure override returns (bytes memory) {
        return "facts: octopuses have three hearts and blue copper-based blood, and";
    }

    // ------------------------------------------------------------------ helpers

    /// @dev The operator attributes over `settled` chunks (its witnesses) and posts a one-record batch.
    function _settle(uint256[] memory settled) internal returns (Scenario memory s) {
        bytes32 commitment;
        (commitment, s.credits, s.segments) = harness.compute(OUTPUT, _roots(), _chunks(settled));
        s.attribution = _attribution(commitment, _one(snapshotId), _chunks(settled));
        (,,, uint256 total) = settlement.splitFee(FEE);
        s.payouts = _payouts(s.credits, total);
        s.batchId = _post(s.attribution, s.payouts);
        s.record = InferenceSettlement.Record(0, s.attribution, s.payouts, new SumNode[](0));
    }

    function _payoutsEvidence(SpanText.Credit[] memory credits, SpanV2.Segment[] memory segments)
        internal
        pure
        returns (bytes memory)
    {
        return abi.encode(uint8(1), abi.encode(SpanV2Verifier.CreditsAndSegments(credits, segments)));
    }

    // ------------------------------------------------------------------ recomputation challenges

    /// The span-v2 copy case: paying the extended copy (3) instead of the original (1) is proven wrong by
    /// adding the original.
    function test_challengeAddingTheOmittedOriginalRevertsAPaidCopy() public {
        Scenario memory s = _settle(_ids(3, 2));
        assertEq(s.credits.length, 2);
        assertEq(s.credits[1].contributionId, 3, "the operator paid the copy");
        uint256 gasBefore = gasleft();
        vm.prank(challenger);
        settlement.challenge(s.batchId, s.record, _recompute(OUTPUT, _proven(_ids(3, 2, 1))));
        console.log("span-v2 challenge (Solidity) gas: %d", gasBefore - gasleft());
        assertEq(uint256(settlement.getBatch(s.batchId).status), uint256(InferenceSettlement.BatchStatus.Reverted));
    }

    /// An honest record over the original, the other fact and the copy (an uncredited witness) stands.
    function test_challengeAddingIrrelevantChunksLoses() public {
        Scenario memory s = _settle(_ids(1, 2, 3));
        assertEq(s.credits.length, 2);
        assertEq(s.credits[0].contributionId, 1);
        assertEq(s.credits[1].contributionId, 2);
        uint256[] memory all = new uint256[](4);
        (all[0], all[1], all[2], all[3]) = (1, 2, 3, 4);
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(InferenceSettlement.ChallengeRejected.selector, s.batchId));
        settlement.challenge(s.batchId, s.record, _recompute(OUTPUT, _proven(all)));
    }

    /// Witness completeness: without witness 1 the copy would take its words, so leaving it out proves nothing.
    function test_challengeLeavingOutAWitnessLoses() public {
        Scenario memory s = _settle(_ids(1, 2, 3));
        assertFalse(verifier.verifyChallenge(s.attribution, s.payouts, _recompute(OUTPUT, _proven(_ids(2, 3)))));
    }

    /// The record binds each witness's text: another text under the same id is no witness.
    function test_challengeSwappingAWitnessTextLoses() public {
        Scenario memory s = _settle(_ids(1, 2, 3));
        SpanVerifier.ProvenChunk[] memory chunks = _proven(_ids(1, 2, 3));
        (chunks[0].text, chunks[0].proof) = (ALT_TEXT, Merkle.proof(leaves, 4));
        assertFalse(verifier.verifyChallenge(s.attribution, s.payouts, _recompute(OUTPUT, chunks)));
    }

    function test_forgedForeignOrMismatchedEvidenceIsUnconvincing() public {
        Scenario memory s = _settle(_ids(3, 2));
        SpanVerifier.ProvenChunk[] memory chunks = _proven(_ids(3, 2, 1));
        assertTrue(verifier.verifyChallenge(s.attribution, s.payouts, _recompute(OUTPUT, chunks)));
        chunks[2].text = "Octopuses have three hearts and blue copper-based blood!"; // no proof holds it
        assertFalse(verifier.verifyChallenge(s.attribution, s.payouts, _recompute(OUTPUT, chunks)));
        chunks = _proven(_ids(3, 2, 1));
        chunks[2].snapshotId = snapshotId + 1; // a snapshot the record does not name
        assertFalse(verifier.verifyChallenge(s.attribution, s.payouts, _recompute(OUTPUT, chunks)));
        // another output, or an unknown evidence kind
        assertFalse(verifier.verifyChallenge(s.attribution, s.payouts, _recompute("other", _proven(_ids(3, 2, 1)))));
        assertFalse(verifier.verifyChallenge(s.attribution, s.payouts, abi.encode(uint8(7), bytes(""))));
    }

    function test_challengerInputOverTheLimitsIsUnconvincing() public {
        Scenario memory s = _settle(_ids(3, 2));
        (uint256 bigSnapshot, bytes memory big, bytes32[] memory bigLeaves) = _bigSnapshot(262_145);
        uint256[] memory snaps = _ids(snapshotId, bigSnapshot);
        bytes memory attribution =
            _attribution(abi.decode(s.attribution, (SpanVerifier.Attribution)).commitment, snaps, _chunks(_ids(3, 2)));
        SpanVerifier.ProvenChunk[] memory chunks = new SpanVerifier.ProvenChunk[](3);
        (chunks[0], chunks[1]) = (_proven(_ids(3, 2))[0], _proven(_ids(3, 2))[1]);
        chunks[2] = SpanVerifier.ProvenChunk(9, 0, big, bigSnapshot, Merkle.proof(bigLeaves, 0));
        assertFalse(verifier.verifyChallenge(attribution, s.payouts, _recompute(OUTPUT, chunks)));
    }

    // ------------------------------------------------------------------ records that cannot be checked

    function test_recordsThatCannotBeCheckedCountAgainstTheOperator() public view {
        bytes32 c = keccak256("any commitment");
        bytes memory unpublished = _attribution(c, _one(999), _chunks(_ids(1, 2)));
        assertTrue(verifier.verifyChallenge(unpublished, new Payout[](0), ""));
        assertTrue(verifier.verifyChallenge(hex"1234", new Payout[](0), ""));
        SpanText.Chunk[] memory many = new SpanText.Chunk[](129);
        for (uint256 i; i < many.length; ++i) {
            many[i] = SpanText.Chunk(1, 0, texts[0]);
        }
        assertTrue(verifier.verifyChallenge(_attribution(c, _one(snapshotId), many), new Payout[](0), ""));
        uint256[] memory snaps = new uint256[](65);
        for (uint256 i; i < snaps.length; ++i) {
            snaps[i] = snapshotId;
        }
        assertTrue(verifier.verifyChallenge(_attribution(c, snaps, _chunks(_ids(1, 2))), new Payout[](0), ""));
        assertFalse(verifier.verifyAnswer(unpublished, ""));
        assertFalse(verifier.verifyAnswer(hex"1234", ""));
    }

    function test_outputsOverTheLimitsCountAgainstTheOperator() public view {
        // 4,100 words: recomputing over the witnesses alone fails, which only the record can be blamed for
        bytes memory words = new bytes(8_200);
        for (uint256 i; i < words.length; i += 2) {
            (words[i], words[i + 1]) = ("a", " ");
        }
        SpanVerifier.Witness[] memory w = new SpanVerifier.Witness[](1);
        w[0] = SpanVerifier.Witness(2, 0, keccak256(texts[1]));
        bytes memory attribution =
            abi.encode(SpanVerifier.Attribution(keccak256(words), bytes32(0), _one(snapshotId), w));
        assertTrue(verifier.verifyChallenge(attribution, new Payout[](0), _recompute(words, _proven(_one(2)))));
        // with a challenger's extra chunk the failure proves nothing
        assertFalse(verifier.verifyChallenge(attribution, new Payout[](0), _recompute(words, _proven(_ids(2, 4)))));
        // past 32,768 bytes the record cannot be answered for
        bytes memory huge = new bytes(32_769);
        attribution = abi.encode(SpanVerifier.Attribution(keccak256(huge), bytes32(0), _one(snapshotId), w));
        assertFalse(verifier.verifyAnswer(attribution, abi.encode(SpanVerifier.Recomputation(huge, _proven(_one(2))))));
    }

    /// Witness texts over the limit count against the operator even with their true commitment.
    function test_oversizedWitnessesCountEvenWithTheirTrueCommitment() public {
        (uint256 bigSnapshot, bytes memory big, bytes32[] memory bigLeaves) = _bigSnapshot(131_073);
        SpanText.Chunk[] memory bigChunk = new SpanText.Chunk[](1);
        bigChunk[0] = SpanText.Chunk(9, 0, big);
        bytes32[] memory bigRoots = new bytes32[](1);
        bigRoots[0] = Merkle.root(bigLeaves);
        (bytes32 honest,,) = harness.compute(OUTPUT, bigRoots, bigChunk);
        bytes memory attribution = _attribution(honest, _one(bigSnapshot), bigChunk);
        SpanVerifier.ProvenChunk[] memory witness = new SpanVerifier.ProvenChunk[](1);
        witness[0] = SpanVerifier.ProvenChunk(9, 0, big, bigSnapshot, Merkle.proof(bigLeaves, 0));
        assertTrue(verifier.verifyChallenge(attribution, new Payout[](0), _recompute(OUTPUT, witness)));
        assertFalse(verifier.verifyAnswer(attribution, abi.encode(SpanVerifier.Recomputation(OUTPUT, witness))));
    }

    /// A precompile that fails or answers short counts as no recomputation, never as a commitment.
    function test_failedPrecompileIsNoRecomputation() public {
        SpanV2Verifier onNode = new SpanV2Verifier(IDatanetRegistry(address(datanets)), settlement, true);
        address precompile = onNode.SPAN_V2_PRECOMPILE();
        vm.etch(precompile, hex"60006000fd"); // reverts
        (bool ok, bytes32 commitment) = onNode.recompute(OUTPUT, _roots(), _chunks(_ids(1, 2)));
        assertFalse(ok);
        assertEq(commitment, bytes32(0));
        vm.etch(precompile, hex"60016000f3"); // returns one byte
        (ok, commitment) = onNode.recompute(OUTPUT, _roots(), _chunks(_ids(1, 2)));
        assertFalse(ok);
        assertEq(commitment, bytes32(0));
    }

    // ------------------------------------------------------------------ payouts

    /// Payouts are bound to the credits the record commits to.
    function test_payoutsMustFollowTheCredits() public {
        Scenario memory s = _settle(_ids(1, 2, 3));
        bytes memory evidence = _payoutsEvidence(s.credits, s.segments);
        vm.expectRevert(abi.encodeWithSelector(InferenceSettlement.ChallengeRejected.selector, s.batchId));
        settlement.challenge(s.batchId, s.record, evidence);

        uint256 total = s.payouts[0].amount + s.payouts[1].amount;
        Payout[] memory selfPaid = Records.one(operator, total); // fewer payouts than credits
        assertTrue(verifier.verifyChallenge(s.attribution, selfPaid, evidence));
        Payout[] memory misdirected = new Payout[](2);
        (misdirected[0], misdirected[1]) = (Payout(operator, s.payouts[0].amount), s.payouts[1]);
        assertTrue(verifier.verifyChallenge(s.attribution, misdirected, evidence));
        Payout[] memory shifted = new Payout[](2);
        shifted[0] = Payout(s.payouts[0].account, s.payouts[0].amount - 1);
        shifted[1] = Payout(s.payouts[1].account, s.payouts[1].amount + 1);
        assertTrue(verifier.verifyChallenge(s.attribution, shifted, evidence));
        // credits that are not the record's commitment prove nothing
        s.credits[0].share += 1;
        assertFalse(verifier.verifyChallenge(s.attribution, misdirected, _payoutsEvidence(s.credits, s.segments)));

        uint256 batchId = _post(s.attribution, misdirected);
        InferenceSettlement.Record memory r = InferenceSettlement.Record(0, s.attribution, misdirected, new SumNode[](0));
        vm.prank(challenger);
        settlement.challenge(batchId, r, evidence);
        assertEq(uint256(settlement.getBatch(batchId).status), uint256(InferenceSettlement.BatchStatus.Reverted));
    }

    /// An uncredited record's payouts are the operator's (contracts/README.md, trust model), but the record
    /// must really credit nothing: a challenge adding a chunk with a kept segment reverts it.
    function test_anUncreditedRecordMustReallyCreditNothing() public {
        Scenario memory s = _settle(_one(4));
        assertEq(s.credits.length, 0);
        assertFalse(verifier.verifyChallenge(s.attribution, s.payouts, _payoutsEvidence(s.credits, s.segments)));
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(InferenceSettlement.ChallengeRejected.selector, s.batchId));
        settlement.challenge(s.batchId, s.record, _recompute(OUTPUT, _proven(_one(4))));
        vm.prank(challenger);
        settlement.challenge(s.batchId, s.record, _recompute(OUTPUT, _proven(_ids(4, 1))));
        assertEq(uint256(settlement.getBatch(s.batchId).status), uint256(InferenceSettlement.BatchStatus.Reverted));
    }

    // ------------------------------------------------------------------ evidence requests

    function test_evidenceAnswerMustProveEveryWitness() public {
        Scenario memory s = _settle(_ids(1, 2, 3));
        bytes memory complete = abi.encode(SpanVerifier.Recomputation(OUTPUT, _proven(_ids(1, 2, 3))));
        uint256 gasBefore = gasleft();
        assertTrue(verifier.verifyAnswer(s.attribution, complete));
        console.log("span-v2 verifyAnswer gas (3 witnesses): %d", gasBefore - gasleft());
        bytes memory missingOne = abi.encode(SpanVerifier.Recomputation(OUTPUT, _proven(_ids(1, 2))));
        assertFalse(verifier.verifyAnswer(s.attribution, missingOne));
        bytes memory otherOutput = abi.encode(SpanVerifier.Recomputation("other", _proven(_ids(1, 2, 3))));
        assertFalse(verifier.verifyAnswer(s.attribution, otherOutput));

        vm.prank(challenger);
        uint256 id = settlement.requestEvidence(s.batchId, s.record);
        vm.prank(operator);
        settlement.answerEvidence(id, s.attribution, complete);
        assertEq(uint8(settlement.getDispute(id).status), uint8(InferenceSettlement.DisputeStatus.Answered));
    }
}
