// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IDatanetRegistry} from "./interfaces/IDatanetRegistry.sol";
import {IModelRegistry} from "./interfaces/IModelRegistry.sol";

/// @title Models and their versions with verifiable provenance
/// @notice A model has an owner and versions 1, 2, 3... Each version records the base model hash, the
/// LoRA adapter hash and URI, the Datanet snapshots it was trained on (the owner must hold a training
/// license for every one, checked against DatanetRegistry when the version is published), the
/// training-config hash and the inference price per 1000 tokens. Versions and whole models can be
/// retired; records are never deleted.
contract ModelRegistry is IModelRegistry {
    struct Model {
        address owner;
        uint32 versionCount;
        bool retired;
        string metadataURI;
    }

    struct Version {
        bytes32 baseModelHash;
        bytes32 adapterHash;
        bytes32 trainingConfigHash;
        uint256 pricePer1kTokens;
        uint64 publishedAt;
        bool retired;
        string adapterURI;
        uint256[] snapshotIds;
    }

    struct VersionInput {
        bytes32 baseModelHash;
        bytes32 adapterHash;
        string adapterURI;
        uint256[] snapshotIds;
        bytes32 trainingConfigHash;
        uint256 pricePer1kTokens;
    }

    /// @notice The registry whose snapshots and licenses versions refer to.
    IDatanetRegistry public immutable datanets;

    uint256 private _nextModelId = 1;
    mapping(uint256 modelId => Model) private _models;
    mapping(uint256 modelId => mapping(uint32 version => Version)) private _versions;

    /// @notice A model was registered.
    event ModelRegistered(uint256 indexed modelId, address indexed owner, string metadataURI);
    /// @notice A model's metadata URI changed.
    event ModelMetadataURISet(uint256 indexed modelId, string metadataURI);
    /// @notice A version was published with the given provenance.
    event VersionPublished(uint256 indexed modelId, uint32 indexed version, VersionInput provenance);
    /// @notice A version was retired.
    event VersionRetired(uint256 indexed modelId, uint32 indexed version);
    /// @notice A model was retired (no new settlements).
    event ModelRetired(uint256 indexed modelId);
    /// @notice Model ownership moved.
    event ModelOwnershipTransferred(uint256 indexed modelId, address indexed from, address indexed to);

    /// @notice No model with this id.
    error UnknownModel(uint256 modelId);
    /// @notice No such version.
    error UnknownVersion(uint256 modelId, uint32 version);
    /// @notice Only the model's owner may do this.
    error NotModelOwner(uint256 modelId, address caller);
    /// @notice The model is retired.
    error ModelIsRetired(uint256 modelId);
    /// @notice The version is already retired.
    error VersionIsRetired(uint256 modelId, uint32 version);
    /// @notice A version must name at least one training snapshot.
    error NoTrainingSnapshots();
    /// @notice The snapshot does not exist.
    error UnknownSnapshot(uint256 snapshotId);
    /// @notice The owner holds no training license for the snapshot.
    error MissingLicense(uint256 snapshotId, address owner);
    /// @notice Base model and adapter hashes must be non-zero.
    error ZeroHash();
    /// @notice The zero address is not allowed here.
    error ZeroAddress();

    /// @param datanets_ The DatanetRegistry.
    constructor(IDatanetRegistry datanets_) {
        datanets = datanets_;
    }

    modifier onlyModelOwner(uint256 modelId) {
        address owner = _models[modelId].owner;
        if (owner == address(0)) revert UnknownModel(modelId);
        if (owner != msg.sender) revert NotModelOwner(modelId, msg.sender);
        _;
    }

    /// @notice Registers a model owned by the caller.
    /// @param metadataURI Where the model card lives.
    /// @return modelId The new model's id.
    function registerModel(string calldata metadataURI) external returns (uint256 modelId) {
        modelId = _nextModelId++;
        Model storage m = _models[modelId];
        m.owner = msg.sender;
        m.metadataURI = metadataURI;
        emit ModelRegistered(modelId, msg.sender, metadataURI);
    }

    /// @notice Publishes the next version of a model. Only the owner, who must hold a training license
    /// for every snapshot named.
    /// @param modelId The model.
    /// @param input baseModelHash (base weights), adapterHash (LoRA adapter file), adapterURI (where the
    /// adapter can be fetched), snapshotIds (DatanetRegistry snapshots trained on), trainingConfigHash,
    /// pricePer1kTokens (inference price per 1000 tokens, in wei).
    /// @return version The new version number.
    function publishVersion(uint256 modelId, VersionInput calldata input)
        external
        onlyModelOwner(modelId)
        returns (uint32 version)
    {
        Model storage m = _models[modelId];
        if (m.retired) revert ModelIsRetired(modelId);
        if (input.baseModelHash == bytes32(0) || input.adapterHash == bytes32(0)) revert ZeroHash();
        uint256[] calldata snapshotIds = input.snapshotIds;
        if (snapshotIds.length == 0) revert NoTrainingSnapshots();
        for (uint256 i = 0; i < snapshotIds.length; i++) {
            if (!datanets.snapshotExists(snapshotIds[i])) revert UnknownSnapshot(snapshotIds[i]);
            if (!datanets.hasLicense(snapshotIds[i], msg.sender)) revert MissingLicense(snapshotIds[i], msg.sender);
        }
        version = ++m.versionCount;
        Version storage v = _versions[modelId][version];
        v.baseModelHash = input.baseModelHash;
        v.adapterHash = input.adapterHash;
        v.trainingConfigHash = input.trainingConfigHash;
        v.pricePer1kTokens = input.pricePer1kTokens;
        v.publishedAt = uint64(block.timestamp);
        v.adapterURI = input.adapterURI;
        v.snapshotIds = snapshotIds;
        emit VersionPublished(modelId, version, input);
    }

    /// @notice Retires a version (kept for provenance, no longer offered). Only the owner.
    /// @param modelId The model.
    /// @param version The version.
    function retireVersion(uint256 modelId, uint32 version) external onlyModelOwner(modelId) {
        Version storage v = _version(modelId, version);
        if (v.retired) revert VersionIsRetired(modelId, version);
        v.retired = true;
        emit VersionRetired(modelId, version);
    }

    /// @notice Retires the whole model: no new versions and no new settlement batches. Only the owner.
    /// @param modelId The model.
    function retireModel(uint256 modelId) external onlyModelOwner(modelId) {
        Model storage m = _models[modelId];
        if (m.retired) revert ModelIsRetired(modelId);
        m.retired = true;
        emit ModelRetired(modelId);
    }

    /// @notice Sets the model's metadata URI. Only the owner.
    /// @param modelId The model.
    /// @param metadataURI The new URI.
    function setMetadataURI(uint256 modelId, string calldata metadataURI) external onlyModelOwner(modelId) {
        _models[modelId].metadataURI = metadataURI;
        emit ModelMetadataURISet(modelId, metadataURI);
    }

    /// @notice Transfers the model (and its future inference earnings) to `newOwner`. Only the owner.
    /// @param modelId The model.
    /// @param newOwner The new owner.
    function transferModelOwnership(uint256 modelId, address newOwner) external onlyModelOwner(modelId) {
        if (newOwner == address(0)) revert ZeroAddress();
        _models[modelId].owner = newOwner;
        emit ModelOwnershipTransferred(modelId, msg.sender, newOwner);
    }

    /// @notice A model's record.
    /// @param modelId The model.
    /// @return The record (owner zero when unknown).
    function getModel(uint256 modelId) external view returns (Model memory) {
        return _models[modelId];
    }

    /// @notice A version's provenance record.
    /// @param modelId The model.
    /// @param version The version, from 1.
    /// @return The record.
    function getVersion(uint256 modelId, uint32 version) external view returns (Version memory) {
        return _version(modelId, version);
    }

    /// @notice The chunk Merkle roots of the snapshots a version was trained on, in the same order.
    /// @param modelId The model.
    /// @param version The version.
    /// @return roots One root per training snapshot.
    function trainingRoots(uint256 modelId, uint32 version) external view returns (bytes32[] memory roots) {
        uint256[] storage ids = _version(modelId, version).snapshotIds;
        roots = new bytes32[](ids.length);
        for (uint256 i = 0; i < ids.length; i++) {
            roots[i] = datanets.snapshotChunksRoot(ids[i]);
        }
    }

    /// @inheritdoc IModelRegistry
    function ownerOf(uint256 modelId) external view returns (address) {
        return _models[modelId].owner;
    }

    /// @inheritdoc IModelRegistry
    function isActive(uint256 modelId) external view returns (bool) {
        Model storage m = _models[modelId];
        return m.owner != address(0) && !m.retired;
    }

    function _version(uint256 modelId, uint32 version) private view returns (Version storage v) {
        if (version == 0 || version > _models[modelId].versionCount) revert UnknownVersion(modelId, version);
        v = _versions[modelId][version];
    }
}
