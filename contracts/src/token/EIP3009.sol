// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";

/// @title EIP-3009 transfers with authorization
/// @notice Gasless, signed transfers with random 32-byte nonces (the scheme USDC and x402 clients use).
/// Typehashes and the `(v, r, s)` / `bytes signature` call forms match USDC v2.2; the `bytes` forms also
/// accept ERC-1271 contract signatures. The EIP-712 domain is the token's (see {EIP712}).
abstract contract EIP3009 is ERC20, EIP712 {
    /// @notice keccak256("TransferWithAuthorization(address from,address to,uint256 value,uint256 validAfter,uint256 validBefore,bytes32 nonce)")
    bytes32 public constant TRANSFER_WITH_AUTHORIZATION_TYPEHASH =
        0x7c7c6cdb67a18743f49ec6fa9b35f50d52ed05cbed4cc592e13b44501c1a2267;
    /// @notice keccak256("ReceiveWithAuthorization(address from,address to,uint256 value,uint256 validAfter,uint256 validBefore,bytes32 nonce)")
    bytes32 public constant RECEIVE_WITH_AUTHORIZATION_TYPEHASH =
        0xd099cc98ef71107a616c4f0f941f04c322d8e254fe26b3c6668db87aae413de8;
    /// @notice keccak256("CancelAuthorization(address authorizer,bytes32 nonce)")
    bytes32 public constant CANCEL_AUTHORIZATION_TYPEHASH =
        0x158b0a9edf7a828aad02f63cd515c68ef2f50ba807396f6d12842833a1597429;

    mapping(address authorizer => mapping(bytes32 nonce => bool used)) private _authorizationStates;

    /// @notice An authorization was used for a transfer.
    event AuthorizationUsed(address indexed authorizer, bytes32 indexed nonce);
    /// @notice An authorization was cancelled before use.
    event AuthorizationCanceled(address indexed authorizer, bytes32 indexed nonce);

    /// @notice The authorization is not valid before `validAfter`.
    error AuthorizationNotYetValid(uint256 validAfter, uint256 timestamp);
    /// @notice The authorization expired at `validBefore`.
    error AuthorizationExpired(uint256 validBefore, uint256 timestamp);
    /// @notice The nonce was already used or cancelled by `authorizer`.
    error AuthorizationAlreadyUsed(address authorizer, bytes32 nonce);
    /// @notice The signature is not `authorizer`'s.
    error InvalidAuthorizationSignature(address authorizer);
    /// @notice receiveWithAuthorization must be called by the payee.
    error CallerNotPayee(address caller, address payee);

    /// @notice Whether `authorizer` has used or cancelled `nonce`.
    /// @param authorizer The signer of the authorization.
    /// @param nonce The 32-byte authorization nonce.
    /// @return True when the nonce can no longer be used.
    function authorizationState(address authorizer, bytes32 nonce) external view returns (bool) {
        return _authorizationStates[authorizer][nonce];
    }

    /// @notice Executes a transfer signed by `from` (EIP-3009), callable by anyone.
    /// @param from Payer, the signer.
    /// @param to Payee.
    /// @param value Amount in wei.
    /// @param validAfter Unix time after which the authorization is valid (exclusive).
    /// @param validBefore Unix time before which the authorization is valid (exclusive).
    /// @param nonce Unique 32-byte nonce chosen by the signer.
    /// @param v Signature v.
    /// @param r Signature r.
    /// @param s Signature s.
    function transferWithAuthorization(
        address from,
        address to,
        uint256 value,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external {
        _transferWithAuthorization(
            TRANSFER_WITH_AUTHORIZATION_TYPEHASH, from, to, value, validAfter, validBefore, nonce, abi.encodePacked(r, s, v)
        );
    }

    /// @notice Executes a transfer signed by `from` (EIP-3009), with a packed or ERC-1271 signature.
    /// @param from Payer, the signer.
    /// @param to Payee.
    /// @param value Amount in wei.
    /// @param validAfter Unix time after which the authorization is valid (exclusive).
    /// @param validBefore Unix time before which the authorization is valid (exclusive).
    /// @param nonce Unique 32-byte nonce chosen by the signer.
    /// @param signature 65-byte ECDSA signature, or an ERC-1271 signature when `from` is a contract.
    function transferWithAuthorization(
        address from,
        address to,
        uint256 value,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce,
        bytes calldata signature
    ) external {
        _transferWithAuthorization(
            TRANSFER_WITH_AUTHORIZATION_TYPEHASH, from, to, value, validAfter, validBefore, nonce, signature
        );
    }

    /// @notice Executes a transfer signed by `from`; only the payee `to` may call it (front-running safe).
    /// @param from Payer, the signer.
    /// @param to Payee, must be the caller.
    /// @param value Amount in wei.
    /// @param validAfter Unix time after which the authorization is valid (exclusive).
    /// @param validBefore Unix time before which the authorization is valid (exclusive).
    /// @param nonce Unique 32-byte nonce chosen by the signer.
    /// @param v Signature v.
    /// @param r Signature r.
    /// @param s Signature s.
    function receiveWithAuthorization(
        address from,
        address to,
        uint256 value,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external {
        if (to != msg.sender) revert CallerNotPayee(msg.sender, to);
        _transferWithAuthorization(
            RECEIVE_WITH_AUTHORIZATION_TYPEHASH, from, to, value, validAfter, validBefore, nonce, abi.encodePacked(r, s, v)
        );
    }

    /// @notice receiveWithAuthorization with a packed or ERC-1271 signature.
    /// @param from Payer, the signer.
    /// @param to Payee, must be the caller.
    /// @param value Amount in wei.
    /// @param validAfter Unix time after which the authorization is valid (exclusive).
    /// @param validBefore Unix time before which the authorization is valid (exclusive).
    /// @param nonce Unique 32-byte nonce chosen by the signer.
    /// @param signature 65-byte ECDSA signature, or an ERC-1271 signature when `from` is a contract.
    function receiveWithAuthorization(
        address from,
        address to,
        uint256 value,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce,
        bytes calldata signature
    ) external {
        if (to != msg.sender) revert CallerNotPayee(msg.sender, to);
        _transferWithAuthorization(
            RECEIVE_WITH_AUTHORIZATION_TYPEHASH, from, to, value, validAfter, validBefore, nonce, signature
        );
    }

    /// @notice Cancels an unused authorization nonce of `authorizer`.
    /// @param authorizer The signer whose nonce is cancelled.
    /// @param nonce The nonce to cancel.
    /// @param v Signature v.
    /// @param r Signature r.
    /// @param s Signature s.
    function cancelAuthorization(address authorizer, bytes32 nonce, uint8 v, bytes32 r, bytes32 s) external {
        _cancelAuthorization(authorizer, nonce, abi.encodePacked(r, s, v));
    }

    /// @notice Cancels an unused authorization nonce of `authorizer` (packed or ERC-1271 signature).
    /// @param authorizer The signer whose nonce is cancelled.
    /// @param nonce The nonce to cancel.
    /// @param signature 65-byte ECDSA signature, or an ERC-1271 signature when `authorizer` is a contract.
    function cancelAuthorization(address authorizer, bytes32 nonce, bytes calldata signature) external {
        _cancelAuthorization(authorizer, nonce, signature);
    }

    function _transferWithAuthorization(
        bytes32 typehash,
        address from,
        address to,
        uint256 value,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce,
        bytes memory signature
    ) private {
        if (block.timestamp <= validAfter) revert AuthorizationNotYetValid(validAfter, block.timestamp);
        if (block.timestamp >= validBefore) revert AuthorizationExpired(validBefore, block.timestamp);
        _useAuthorization(from, nonce);
        bytes32 structHash = keccak256(abi.encode(typehash, from, to, value, validAfter, validBefore, nonce));
        _checkSignature(from, structHash, signature);
        emit AuthorizationUsed(from, nonce);
        _transfer(from, to, value);
    }

    function _cancelAuthorization(address authorizer, bytes32 nonce, bytes memory signature) private {
        _useAuthorization(authorizer, nonce);
        _checkSignature(authorizer, keccak256(abi.encode(CANCEL_AUTHORIZATION_TYPEHASH, authorizer, nonce)), signature);
        emit AuthorizationCanceled(authorizer, nonce);
    }

    function _useAuthorization(address authorizer, bytes32 nonce) private {
        if (_authorizationStates[authorizer][nonce]) revert AuthorizationAlreadyUsed(authorizer, nonce);
        _authorizationStates[authorizer][nonce] = true;
    }

    function _checkSignature(address signer, bytes32 structHash, bytes memory signature) private view {
        bytes32 digest = _hashTypedDataV4(structHash);
        if (signer.code.length == 0) {
            (address recovered, ECDSA.RecoverError err,) = ECDSA.tryRecover(digest, signature);
            if (err != ECDSA.RecoverError.NoError || recovered != signer) revert InvalidAuthorizationSignature(signer);
        } else if (!SignatureChecker.isValidSignatureNow(signer, digest, signature)) {
            revert InvalidAuthorizationSignature(signer);
        }
    }
}
