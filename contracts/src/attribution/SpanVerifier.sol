// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {InferenceSettlement} from "../InferenceSettlement.sol";
import {IAttributionVerifier} from "../interfaces/IAttributionVerifier.sol";
import {IDatanetRegistry} from "../interfaces/IDatanetRegistry.sol";
import {Payout} from "../libraries/RecordTree.sol";
import {SpanText} from "./SpanText.sol";

/// @title Judges span attribution records by recomputing them (what every span version shares)
/// @notice A record's attribution is `abi.encode(Attribution)`: the output's hash, the commitment the
/// operator paid by, the snapshots it attributed over and its witness chunks, each bound to its text
/// hash. A record is wrong when it is malformed, names a snapshot never published, exceeds the limits
/// (at most {MAX_SNAPSHOTS} snapshots, {MAX_WITNESSES} witnesses of {MAX_WITNESS_BYTES} bytes in all, an
/// output within the span limits), when the algorithm over its proven witnesses plus a challenger's proven
/// chunks gives another commitment, or when its payouts differ from what its credits pay: one payout per
/// credit in credit order, to the contribution's contributor, `total * share / 1,000,000` with the
/// rounding remainder to the first. A record without credits pays what the operator assigned (the trust
/// model in contracts/README.md). Limits leave half of the precompiles' 256 chunks and 262,144 chunk bytes
/// to the challenger. A version supplies its commitment of credits ({_committedCredits}), its Solidity
/// computation ({computeInSolidity}) and its precompile ({_precompile}).
abstract contract SpanVerifier is IAttributionVerifier {
    struct Witness {
        uint256 contributionId;
        uint32 chunkIndex;
        bytes32 textHash;
    }

    struct Attribution {
        bytes32 outputHash;
        bytes32 commitment;
        uint256[] snapshotIds;
        Witness[] witnesses;
    }

    struct ProvenChunk {
        uint256 contributionId;
        uint32 chunkIndex;
        bytes text;
        uint256 snapshotId;
        bytes32[] proof;
    }

    /// @notice Evidence of kind {RECOMPUTE}: the output and proven chunks (every witness plus the
    /// challenger's own).
    struct Recomputation {
        bytes output;
        ProvenChunk[] chunks;
    }

    uint8 public constant RECOMPUTE = 0;
    uint8 public constant PAYOUTS = 1;
    uint256 public constant MAX_SNAPSHOTS = 64;
    uint256 public constant MAX_WITNESSES = 128;
    uint256 public constant MAX_WITNESS_BYTES = 131_072;
    uint256 public constant MAX_CHALLENGE_BYTES = 262_144;

    IDatanetRegistry public immutable datanets;
    /// @notice The settlement whose batches' records this verifier judges (for watchers and tools).
    InferenceSettlement public immutable settlement;
    /// @notice Whether the algorithm runs in the precompile (true) or in Solidity (false).
    bool public immutable usePrecompile;

    constructor(IDatanetRegistry datanets_, InferenceSettlement settlement_, bool usePrecompile_) {
        datanets = datanets_;
        settlement = settlement_;
        usePrecompile = usePrecompile_;
    }

    /// @notice Decodes a record's attribution bytes (reverts when malformed; used through try/catch).
    function decodeAttribution(bytes calldata attribution) external pure returns (Attribution memory) {
        return abi.decode(attribution, (Attribution));
    }

    /// @inheritdoc IAttributionVerifier
    /// @dev `evidence` is `abi.encode(uint8 kind, bytes body)` with body `abi.encode(Recomputation)` or the
    /// version's credits-and-spans encoding.
    function verifyChallenge(bytes calldata attribution, Payout[] calldata payouts, bytes calldata evidence)
        external
        view
        returns (bool recordIsWrong)
    {
        (bool valid, Attribution memory a, bytes32[] memory roots) = _record(attribution);
        if (!valid) return true;
        (uint8 kind, bytes memory body) = abi.decode(evidence, (uint8, bytes));
        if (kind == PAYOUTS) {
            (bool committed, SpanText.Credit[] memory credits) = _committedCredits(a, roots, body);
            if (!committed) return false;
            return !_payoutsMatch(credits, payouts);
        }
        if (kind != RECOMPUTE) return false;
        Recomputation memory r = abi.decode(body, (Recomputation));
        if (keccak256(r.output) != a.outputHash) return false;
        (bool proven, bool oversized, SpanText.Chunk[] memory chunks) = _provenChunks(a, roots, r.chunks);
        if (!proven) return false;
        if (oversized) return true;
        (bool computed, bytes32 commitment) = recompute(r.output, roots, chunks);
        // Over the witnesses alone a failed recomputation (an output over the span limits, text that is not
        // NFC UTF-8) can only be the record's fault.
        if (!computed) return chunks.length == a.witnesses.length;
        return commitment != a.commitment;
    }

    /// @inheritdoc IAttributionVerifier
    /// @dev `answer` is `abi.encode(Recomputation)` whose chunks prove every witness.
    function verifyAnswer(bytes calldata attribution, bytes calldata answer) external view returns (bool complete) {
        (bool valid, Attribution memory a, bytes32[] memory roots) = _record(attribution);
        if (!valid) return false;
        Recomputation memory r = abi.decode(answer, (Recomputation));
        if (keccak256(r.output) != a.outputHash || r.output.length > SpanText.MAX_OUTPUT_BYTES) return false;
        (bool proven, bool oversized,) = _provenChunks(a, roots, r.chunks);
        return proven && !oversized;
    }

    /// @notice The version's commitment over `chunks`, through the precompile or the Solidity library.
    /// @return ok False when the computation failed (input over the limits).
    function recompute(bytes memory output, bytes32[] memory roots, SpanText.Chunk[] memory chunks)
        public
        view
        returns (bool ok, bytes32 commitment)
    {
        if (!usePrecompile) {
            try this.computeInSolidity(output, roots, chunks) returns (bytes32 c) {
                return (true, c);
            } catch {
                return (false, bytes32(0));
            }
        }
        bytes memory ret;
        (ok, ret) = _precompile().staticcall(abi.encode(output, roots, chunks));
        if (!ok || ret.length < 32) return (false, bytes32(0));
        commitment = abi.decode(ret, (bytes32));
    }

    /// @notice The version's Solidity commitment as an external call (so {recompute} can catch its reverts).
    function computeInSolidity(bytes memory output, bytes32[] memory roots, SpanText.Chunk[] memory chunks)
        external
        pure
        virtual
        returns (bytes32 commitment);

    /// @dev The version's precompile (same input and output encoding for every version).
    function _precompile() internal pure virtual returns (address);

    /// @dev Decodes a {PAYOUTS} body; `committed` when it is exactly what the record's commitment stands for.
    function _committedCredits(Attribution memory a, bytes32[] memory roots, bytes memory body)
        internal
        pure
        virtual
        returns (bool committed, SpanText.Credit[] memory credits);

    /// @dev Decodes the attribution and checks what the record alone shows: well-formed, every snapshot
    /// published, within the snapshot and witness limits. Returns the snapshots' chunk roots.
    function _record(bytes calldata attribution)
        private
        view
        returns (bool valid, Attribution memory a, bytes32[] memory roots)
    {
        try this.decodeAttribution(attribution) returns (Attribution memory decoded) {
            a = decoded;
        } catch {
            return (false, a, roots);
        }
        if (a.snapshotIds.length > MAX_SNAPSHOTS || a.witnesses.length > MAX_WITNESSES) return (false, a, roots);
        roots = new bytes32[](a.snapshotIds.length);
        for (uint256 s; s < roots.length; ++s) {
            if (!datanets.snapshotExists(a.snapshotIds[s])) return (false, a, roots);
            roots[s] = datanets.snapshotChunksRoot(a.snapshotIds[s]);
        }
        valid = true;
    }

    /// @dev Checks every chunk's proof against the root of a snapshot the record names, and that every
    /// witness is present with its recorded text (witness completeness: a challenger cannot leave one out
    /// or swap its text). `oversized` when the witnesses' texts exceed {MAX_WITNESS_BYTES}; `proven` is
    /// false when any proof fails or the chunks' texts exceed {MAX_CHALLENGE_BYTES} (beyond the
    /// precompile's input limit a failed recomputation would prove nothing).
    function _provenChunks(Attribution memory a, bytes32[] memory roots, ProvenChunk[] memory proven)
        private
        pure
        returns (bool ok, bool oversized, SpanText.Chunk[] memory chunks)
    {
        chunks = new SpanText.Chunk[](proven.length);
        uint256 totalBytes;
        for (uint256 k; k < proven.length; ++k) {
            ProvenChunk memory c = proven[k];
            uint256 s;
            while (s < roots.length && a.snapshotIds[s] != c.snapshotId) ++s;
            if (s == roots.length) return (false, false, chunks);
            bytes32 leaf =
                keccak256(bytes.concat(keccak256(abi.encode(c.contributionId, c.chunkIndex, keccak256(c.text)))));
            if (!MerkleProof.verify(c.proof, roots[s], leaf)) return (false, false, chunks);
            totalBytes += c.text.length;
            chunks[k] = SpanText.Chunk(c.contributionId, c.chunkIndex, c.text);
        }
        if (totalBytes > MAX_CHALLENGE_BYTES) return (false, false, chunks);
        uint256 witnessBytes;
        for (uint256 w; w < a.witnesses.length; ++w) {
            Witness memory wit = a.witnesses[w];
            uint256 k;
            while (
                k < chunks.length
                    && (chunks[k].contributionId != wit.contributionId
                        || chunks[k].chunkIndex != wit.chunkIndex
                        || keccak256(chunks[k].text) != wit.textHash)
            ) ++k;
            if (k == chunks.length) return (false, false, chunks);
            witnessBytes += chunks[k].text.length;
        }
        ok = true;
        oversized = witnessBytes > MAX_WITNESS_BYTES;
    }

    /// @dev Whether `payouts` are exactly what `credits` pay out of the payouts' own total (the rule that
    /// `payoutsForCredits` in packages/attribution implements).
    function _payoutsMatch(SpanText.Credit[] memory credits, Payout[] calldata payouts) private view returns (bool) {
        if (credits.length == 0) return true;
        if (payouts.length != credits.length) return false;
        uint256 total;
        for (uint256 i; i < payouts.length; ++i) {
            total += payouts[i].amount;
        }
        uint256 paid;
        for (uint256 i = credits.length; i > 0;) {
            --i;
            uint256 amount = (total * credits[i].share) / SpanText.SHARE_TOTAL;
            if (i == 0) amount = total - paid;
            if (payouts[i].account != datanets.contributorOf(credits[i].contributionId)) return false;
            if (payouts[i].amount != amount) return false;
            paid += amount;
        }
        return true;
    }
}
