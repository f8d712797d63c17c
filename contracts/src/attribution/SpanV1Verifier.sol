// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {InferenceSettlement} from "../InferenceSettlement.sol";
import {IAttributionVerifier} from "../interfaces/IAttributionVerifier.sol";
import {IDatanetRegistry} from "../interfaces/IDatanetRegistry.sol";
import {SpanV1} from "./SpanV1.sol";

/// @title Judges settlement challenges by recomputing span-v1 attribution
/// @notice Before posting a batch, its operator publishes `recordsRoot`: a Merkle root over one record
/// leaf per served output, `keccak256(bytes.concat(keccak256(abi.encode(outputHash, commitment,
/// snapshotIds, witnesses))))`, where `commitment` is the span-v1 commitment it paid by and `witnesses`
/// the chunks that reproduce it. A challenger proves a record, supplies the witnesses plus its own
/// chunks, each with a Merkle proof against a published snapshot root, and wins when span-v1 over them
/// gives a different commitment (packages/attribution/README.md, "Witnesses and challenges").
/// span-v1 runs in the 0x…0801 precompile on the OpenLedger L2, or in Solidity ({SpanV1}) elsewhere.
contract SpanV1Verifier is IAttributionVerifier {
    struct ChunkRef {
        uint256 contributionId;
        uint32 chunkIndex;
    }

    struct ProvenChunk {
        uint256 contributionId;
        uint32 chunkIndex;
        bytes text;
        uint256 snapshotId;
        bytes32[] proof;
    }

    struct Evidence {
        bytes output;
        bytes32 commitment;
        uint256[] snapshotIds;
        ChunkRef[] witnesses;
        bytes32[] recordProof;
        ProvenChunk[] chunks;
    }

    address public constant SPAN_V1_PRECOMPILE = address(0x0000000000000000000000000000000000000801);

    IDatanetRegistry public immutable datanets;
    InferenceSettlement public immutable settlement;
    /// @notice Whether span-v1 runs in the precompile (true) or in Solidity (false).
    bool public immutable usePrecompile;

    /// @notice Attribution records root per operator and batch contributors root.
    mapping(address operator => mapping(bytes32 contributorsRoot => bytes32)) public recordsRootOf;

    /// @notice `operator` published the attribution records of the batch paying `contributorsRoot`.
    event AttributionsPosted(address indexed operator, bytes32 indexed contributorsRoot, bytes32 recordsRoot);

    /// @notice Records are immutable once posted.
    error AttributionsAlreadyPosted(address operator, bytes32 contributorsRoot);
    /// @notice A zero root commits to nothing.
    error ZeroRecordsRoot();

    constructor(IDatanetRegistry datanets_, InferenceSettlement settlement_, bool usePrecompile_) {
        datanets = datanets_;
        settlement = settlement_;
        usePrecompile = usePrecompile_;
    }

    /// @notice Publishes the attribution records behind a batch; post before the batch itself.
    /// @param contributorsRoot The payout root the batch will commit to.
    /// @param recordsRoot Merkle root over the record leaves ({recordLeaf}).
    function postAttributions(bytes32 contributorsRoot, bytes32 recordsRoot) external {
        if (recordsRoot == bytes32(0)) revert ZeroRecordsRoot();
        if (recordsRootOf[msg.sender][contributorsRoot] != bytes32(0)) {
            revert AttributionsAlreadyPosted(msg.sender, contributorsRoot);
        }
        recordsRootOf[msg.sender][contributorsRoot] = recordsRoot;
        emit AttributionsPosted(msg.sender, contributorsRoot, recordsRoot);
    }

    /// @notice The record leaf for one attributed output.
    function recordLeaf(bytes32 outputHash, bytes32 commitment, uint256[] memory snapshotIds, ChunkRef[] memory witnesses)
        public
        pure
        returns (bytes32)
    {
        return keccak256(bytes.concat(keccak256(abi.encode(outputHash, commitment, snapshotIds, witnesses))));
    }

    /// @inheritdoc IAttributionVerifier
    /// @dev `evidence` is `abi.encode(Evidence)`. A batch whose operator posted no records is wrong.
    function verifyChallenge(uint256 batchId, bytes32 contributorsRoot, bytes calldata evidence)
        external
        view
        returns (bool batchIsWrong)
    {
        bytes32 recordsRoot = recordsRootOf[settlement.getBatch(batchId).operator][contributorsRoot];
        if (recordsRoot == bytes32(0)) return true;
        Evidence memory e = abi.decode(evidence, (Evidence));
        bytes32 leaf = recordLeaf(keccak256(e.output), e.commitment, e.snapshotIds, e.witnesses);
        if (!MerkleProof.verify(e.recordProof, recordsRoot, leaf)) return false;
        (bool ok, bytes32[] memory roots, SpanV1.Chunk[] memory chunks) = _provenChunks(e);
        if (!ok) return false;
        (bool computed, bytes32 commitment) = recompute(e.output, roots, chunks);
        return computed && commitment != e.commitment;
    }

    /// @notice span-v1's commitment over `chunks`, through the precompile or the Solidity library.
    /// @return ok False when the precompile reverted (input over its limits).
    function recompute(bytes memory output, bytes32[] memory roots, SpanV1.Chunk[] memory chunks)
        public
        view
        returns (bool ok, bytes32 commitment)
    {
        if (!usePrecompile) {
            (commitment,,) = SpanV1.compute(output, roots, chunks);
            return (true, commitment);
        }
        bytes memory ret;
        (ok, ret) = SPAN_V1_PRECOMPILE.staticcall(abi.encode(output, roots, chunks));
        if (!ok || ret.length < 32) return (false, bytes32(0));
        commitment = abi.decode(ret, (bytes32));
    }

    /// @dev Checks every chunk's proof against its snapshot's published root and that every witness
    /// is present; returns the snapshot roots and the chunks as plain span-v1 input.
    function _provenChunks(Evidence memory e)
        private
        view
        returns (bool ok, bytes32[] memory roots, SpanV1.Chunk[] memory chunks)
    {
        roots = new bytes32[](e.snapshotIds.length);
        for (uint256 s; s < roots.length; ++s) {
            if (!datanets.snapshotExists(e.snapshotIds[s])) return (false, roots, chunks);
            roots[s] = datanets.snapshotChunksRoot(e.snapshotIds[s]);
        }
        chunks = new SpanV1.Chunk[](e.chunks.length);
        for (uint256 k; k < chunks.length; ++k) {
            ProvenChunk memory c = e.chunks[k];
            uint256 s;
            while (s < roots.length && e.snapshotIds[s] != c.snapshotId) ++s;
            if (s == roots.length) return (false, roots, chunks);
            bytes32 leaf =
                keccak256(bytes.concat(keccak256(abi.encode(c.contributionId, c.chunkIndex, keccak256(c.text)))));
            if (!MerkleProof.verify(c.proof, roots[s], leaf)) return (false, roots, chunks);
            chunks[k] = SpanV1.Chunk(c.contributionId, c.chunkIndex, c.text);
        }
        for (uint256 w; w < e.witnesses.length; ++w) {
            uint256 k;
            while (
                k < chunks.length
                    && (chunks[k].contributionId != e.witnesses[w].contributionId
                        || chunks[k].chunkIndex != e.witnesses[w].chunkIndex)
            ) ++k;
            if (k == chunks.length) return (false, roots, chunks);
        }
        ok = true;
    }
}
