// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Test, stdError} from "forge-std/Test.sol";
import {ERC20Votes} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Votes.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {EIP3009} from "../src/token/EIP3009.sol";
import {OpenToken} from "../src/token/OpenToken.sol";

/// @notice A smart wallet that accepts any signature its owner key produced (ERC-1271).
contract OwnedWallet is IERC1271 {
    address public immutable owner;

    constructor(address owner_) {
        owner = owner_;
    }

    function isValidSignature(bytes32 hash, bytes memory signature) external view returns (bytes4) {
        (uint8 v, bytes32 r, bytes32 s) = (uint8(signature[64]), bytes32(0), bytes32(0));
        assembly {
            r := mload(add(signature, 32))
            s := mload(add(signature, 64))
        }
        return ecrecover(hash, v, r, s) == owner ? IERC1271.isValidSignature.selector : bytes4(0xffffffff);
    }
}

contract OpenTokenTest is Test {
    bytes32 constant PERMIT_TYPEHASH =
        keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)");

    OpenToken token;
    address admin = makeAddr("admin");
    address treasury = makeAddr("treasury");
    address bridge = makeAddr("bridge");
    address bob = makeAddr("bob");
    uint256 alicePk = 0xA11CE;
    address alice = vm.addr(alicePk);

    function setUp() public {
        token = new OpenToken(admin, treasury, 1_000_000 ether);
        bytes32 bridgeRole = token.BRIDGE_ROLE();
        vm.prank(admin);
        token.grantRole(bridgeRole, bridge);
        vm.prank(treasury);
        token.transfer(alice, 1000 ether);
        vm.warp(1_700_000_000);
    }

    // ------------------------------------------------------------ basics and bridge

    function test_genesisSupplyToTreasury() public view {
        assertEq(token.totalSupply(), 1_000_000 ether);
        assertEq(token.balanceOf(treasury), 999_000 ether);
        assertEq(token.name(), "OpenLedger");
        assertEq(token.symbol(), "OPEN");
        assertEq(token.decimals(), 18);
    }

    function test_typehashesMatchEip3009() public view {
        assertEq(
            token.TRANSFER_WITH_AUTHORIZATION_TYPEHASH(),
            keccak256(
                "TransferWithAuthorization(address from,address to,uint256 value,uint256 validAfter,uint256 validBefore,bytes32 nonce)"
            )
        );
        assertEq(
            token.RECEIVE_WITH_AUTHORIZATION_TYPEHASH(),
            keccak256(
                "ReceiveWithAuthorization(address from,address to,uint256 value,uint256 validAfter,uint256 validBefore,bytes32 nonce)"
            )
        );
        assertEq(token.CANCEL_AUTHORIZATION_TYPEHASH(), keccak256("CancelAuthorization(address authorizer,bytes32 nonce)"));
    }

    function test_bridgeMintsAndBurns() public {
        vm.expectEmit(address(token));
        emit OpenToken.BridgeMint(bridge, bob, 5 ether);
        vm.prank(bridge);
        token.mint(bob, 5 ether);
        assertEq(token.balanceOf(bob), 5 ether);
        vm.prank(bob);
        token.approve(bridge, 2 ether);
        vm.prank(bridge);
        token.burn(bob, 2 ether);
        assertEq(token.balanceOf(bob), 3 ether);
        assertEq(token.totalSupply(), 1_000_003 ether);
    }

    function test_bridgeBurnNeedsAllowance() public {
        vm.expectRevert(abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, bridge, 0, 1 ether));
        vm.prank(bridge);
        token.burn(alice, 1 ether);
    }

    function test_onlyBridgeMintsOrBurns() public {
        bytes32 role = token.BRIDGE_ROLE();
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, admin, role));
        vm.prank(admin);
        token.mint(admin, 1);
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, alice, role));
        vm.prank(alice);
        token.burn(alice, 1);
    }

    function test_onlyAdminGrantsBridge() public {
        bytes32 role = token.DEFAULT_ADMIN_ROLE();
        bytes32 bridgeRole = token.BRIDGE_ROLE();
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, bob, role));
        vm.prank(bob);
        token.grantRole(bridgeRole, bob);
    }

    function test_mintAboveVotesCapReverts() public {
        vm.expectRevert(stdError.arithmeticError);
        vm.prank(bridge);
        token.mint(bob, type(uint256).max);
        uint256 cap = type(uint208).max;
        uint256 amount = cap + 1 - token.totalSupply();
        vm.expectRevert(
            abi.encodeWithSelector(ERC20Votes.ERC20ExceededSafeSupply.selector, cap + 1, cap)
        );
        vm.prank(bridge);
        token.mint(bob, amount);
    }

    // ------------------------------------------------------------ permit

    function _permitSig(uint256 pk, address spender, uint256 value, uint256 nonce, uint256 deadline)
        internal
        view
        returns (uint8 v, bytes32 r, bytes32 s)
    {
        bytes32 structHash = keccak256(abi.encode(PERMIT_TYPEHASH, vm.addr(pk), spender, value, nonce, deadline));
        return vm.sign(pk, keccak256(abi.encodePacked("\x19\x01", token.DOMAIN_SEPARATOR(), structHash)));
    }

    function test_permitSetsAllowance() public {
        (uint8 v, bytes32 r, bytes32 s) = _permitSig(alicePk, bob, 10 ether, 0, block.timestamp + 1);
        token.permit(alice, bob, 10 ether, block.timestamp + 1, v, r, s);
        assertEq(token.allowance(alice, bob), 10 ether);
        assertEq(token.nonces(alice), 1);
    }

    function test_permitExpiredReverts() public {
        uint256 deadline = block.timestamp - 1;
        (uint8 v, bytes32 r, bytes32 s) = _permitSig(alicePk, bob, 10 ether, 0, deadline);
        vm.expectRevert(abi.encodeWithSelector(ERC20Permit.ERC2612ExpiredSignature.selector, deadline));
        token.permit(alice, bob, 10 ether, deadline, v, r, s);
    }

    function test_permitReplayReverts() public {
        (uint8 v, bytes32 r, bytes32 s) = _permitSig(alicePk, bob, 10 ether, 0, block.timestamp + 1);
        token.permit(alice, bob, 10 ether, block.timestamp + 1, v, r, s);
        vm.expectRevert();
        token.permit(alice, bob, 10 ether, block.timestamp + 1, v, r, s);
    }

    // ------------------------------------------------------------ EIP-3009

    function _authDigest(bytes32 typehash, address from, address to, uint256 value, uint256 after_, uint256 before_, bytes32 nonce)
        internal
        view
        returns (bytes32)
    {
        bytes32 structHash = keccak256(abi.encode(typehash, from, to, value, after_, before_, nonce));
        return keccak256(abi.encodePacked("\x19\x01", token.DOMAIN_SEPARATOR(), structHash));
    }

    function _sign(uint256 pk, bytes32 digest) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(pk, digest);
        return abi.encodePacked(r, s, v);
    }

    function test_transferWithAuthorization() public {
        bytes32 nonce = keccak256("n1");
        bytes32 digest = _authDigest(
            token.TRANSFER_WITH_AUTHORIZATION_TYPEHASH(), alice, bob, 7 ether, 0, block.timestamp + 60, nonce
        );
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(alicePk, digest);
        vm.expectEmit(address(token));
        emit EIP3009.AuthorizationUsed(alice, nonce);
        vm.prank(makeAddr("relayer"));
        token.transferWithAuthorization(alice, bob, 7 ether, 0, block.timestamp + 60, nonce, v, r, s);
        assertEq(token.balanceOf(bob), 7 ether);
        assertTrue(token.authorizationState(alice, nonce));
    }

    function test_transferWithAuthorizationBytesSignature() public {
        bytes32 nonce = keccak256("n2");
        bytes memory sig = _sign(
            alicePk,
            _authDigest(token.TRANSFER_WITH_AUTHORIZATION_TYPEHASH(), alice, bob, 1 ether, 0, block.timestamp + 60, nonce)
        );
        token.transferWithAuthorization(alice, bob, 1 ether, 0, block.timestamp + 60, nonce, sig);
        assertEq(token.balanceOf(bob), 1 ether);
    }

    function test_replayedAuthorizationReverts() public {
        bytes32 nonce = keccak256("n3");
        bytes memory sig = _sign(
            alicePk,
            _authDigest(token.TRANSFER_WITH_AUTHORIZATION_TYPEHASH(), alice, bob, 1 ether, 0, block.timestamp + 60, nonce)
        );
        token.transferWithAuthorization(alice, bob, 1 ether, 0, block.timestamp + 60, nonce, sig);
        vm.expectRevert(abi.encodeWithSelector(EIP3009.AuthorizationAlreadyUsed.selector, alice, nonce));
        token.transferWithAuthorization(alice, bob, 1 ether, 0, block.timestamp + 60, nonce, sig);
        assertEq(token.balanceOf(bob), 1 ether);
    }

    function test_authorizationTimeBounds() public {
        bytes32 nonce = keccak256("n4");
        uint256 after_ = block.timestamp + 10;
        uint256 before_ = block.timestamp + 20;
        bytes memory sig = _sign(
            alicePk, _authDigest(token.TRANSFER_WITH_AUTHORIZATION_TYPEHASH(), alice, bob, 1, after_, before_, nonce)
        );
        vm.expectRevert(abi.encodeWithSelector(EIP3009.AuthorizationNotYetValid.selector, after_, block.timestamp));
        token.transferWithAuthorization(alice, bob, 1, after_, before_, nonce, sig);
        vm.warp(before_);
        vm.expectRevert(abi.encodeWithSelector(EIP3009.AuthorizationExpired.selector, before_, before_));
        token.transferWithAuthorization(alice, bob, 1, after_, before_, nonce, sig);
        vm.warp(after_ + 1);
        token.transferWithAuthorization(alice, bob, 1, after_, before_, nonce, sig);
        assertEq(token.balanceOf(bob), 1);
    }

    function test_authorizationWrongSignerOrTamperedValue() public {
        bytes32 nonce = keccak256("n5");
        bytes memory sig = _sign(
            0xB0B,
            _authDigest(token.TRANSFER_WITH_AUTHORIZATION_TYPEHASH(), alice, bob, 1 ether, 0, block.timestamp + 60, nonce)
        );
        vm.expectRevert(abi.encodeWithSelector(EIP3009.InvalidAuthorizationSignature.selector, alice));
        token.transferWithAuthorization(alice, bob, 1 ether, 0, block.timestamp + 60, nonce, sig);

        sig = _sign(
            alicePk,
            _authDigest(token.TRANSFER_WITH_AUTHORIZATION_TYPEHASH(), alice, bob, 1 ether, 0, block.timestamp + 60, nonce)
        );
        vm.expectRevert(abi.encodeWithSelector(EIP3009.InvalidAuthorizationSignature.selector, alice));
        token.transferWithAuthorization(alice, bob, 2 ether, 0, block.timestamp + 60, nonce, sig);
        vm.expectRevert(abi.encodeWithSelector(EIP3009.InvalidAuthorizationSignature.selector, alice));
        token.transferWithAuthorization(alice, bob, 1 ether, 0, block.timestamp + 60, nonce, hex"1234");
    }

    function test_transferSignatureCannotBeUsedAsReceive() public {
        bytes32 nonce = keccak256("n6");
        bytes memory sig = _sign(
            alicePk,
            _authDigest(token.TRANSFER_WITH_AUTHORIZATION_TYPEHASH(), alice, bob, 1 ether, 0, block.timestamp + 60, nonce)
        );
        vm.expectRevert(abi.encodeWithSelector(EIP3009.InvalidAuthorizationSignature.selector, alice));
        vm.prank(bob);
        token.receiveWithAuthorization(alice, bob, 1 ether, 0, block.timestamp + 60, nonce, sig);
    }

    function test_receiveWithAuthorizationOnlyByPayee() public {
        bytes32 nonce = keccak256("n7");
        bytes32 digest = _authDigest(
            token.RECEIVE_WITH_AUTHORIZATION_TYPEHASH(), alice, bob, 3 ether, 0, block.timestamp + 60, nonce
        );
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(alicePk, digest);
        address thief = makeAddr("thief");
        vm.expectRevert(abi.encodeWithSelector(EIP3009.CallerNotPayee.selector, thief, bob));
        vm.prank(thief);
        token.receiveWithAuthorization(alice, bob, 3 ether, 0, block.timestamp + 60, nonce, v, r, s);
        vm.prank(bob);
        token.receiveWithAuthorization(alice, bob, 3 ether, 0, block.timestamp + 60, nonce, v, r, s);
        assertEq(token.balanceOf(bob), 3 ether);
    }

    function test_cancelAuthorizationBlocksUse() public {
        bytes32 nonce = keccak256("n8");
        bytes32 cancelDigest = keccak256(
            abi.encodePacked(
                "\x19\x01",
                token.DOMAIN_SEPARATOR(),
                keccak256(abi.encode(token.CANCEL_AUTHORIZATION_TYPEHASH(), alice, nonce))
            )
        );
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(alicePk, cancelDigest);
        vm.expectEmit(address(token));
        emit EIP3009.AuthorizationCanceled(alice, nonce);
        token.cancelAuthorization(alice, nonce, v, r, s);
        assertTrue(token.authorizationState(alice, nonce));
        bytes memory sig = _sign(
            alicePk,
            _authDigest(token.TRANSFER_WITH_AUTHORIZATION_TYPEHASH(), alice, bob, 1 ether, 0, block.timestamp + 60, nonce)
        );
        vm.expectRevert(abi.encodeWithSelector(EIP3009.AuthorizationAlreadyUsed.selector, alice, nonce));
        token.transferWithAuthorization(alice, bob, 1 ether, 0, block.timestamp + 60, nonce, sig);
        vm.expectRevert(abi.encodeWithSelector(EIP3009.AuthorizationAlreadyUsed.selector, alice, nonce));
        token.cancelAuthorization(alice, nonce, v, r, s);
    }

    function test_authorizationMoreThanBalanceReverts() public {
        bytes32 nonce = keccak256("n9");
        bytes memory sig = _sign(
            alicePk,
            _authDigest(
                token.TRANSFER_WITH_AUTHORIZATION_TYPEHASH(), alice, bob, type(uint256).max, 0, block.timestamp + 60, nonce
            )
        );
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientBalance.selector, alice, 1000 ether, type(uint256).max)
        );
        token.transferWithAuthorization(alice, bob, type(uint256).max, 0, block.timestamp + 60, nonce, sig);
        assertFalse(token.authorizationState(alice, nonce));
    }

    function test_erc1271WalletAuthorizes() public {
        OwnedWallet wallet = new OwnedWallet(alice);
        vm.prank(treasury);
        token.transfer(address(wallet), 5 ether);
        bytes32 nonce = keccak256("n10");
        bytes memory sig = _sign(
            alicePk,
            _authDigest(
                token.TRANSFER_WITH_AUTHORIZATION_TYPEHASH(), address(wallet), bob, 5 ether, 0, block.timestamp + 60, nonce
            )
        );
        token.transferWithAuthorization(address(wallet), bob, 5 ether, 0, block.timestamp + 60, nonce, sig);
        assertEq(token.balanceOf(bob), 5 ether);
        bytes memory wrong = _sign(
            0xB0B,
            _authDigest(
                token.TRANSFER_WITH_AUTHORIZATION_TYPEHASH(), address(wallet), bob, 0, 0, block.timestamp + 60, nonce
            )
        );
        vm.expectRevert(abi.encodeWithSelector(EIP3009.InvalidAuthorizationSignature.selector, address(wallet)));
        token.transferWithAuthorization(address(wallet), bob, 0, 0, block.timestamp + 60, keccak256("n11"), wrong);
    }

    function testFuzz_authorizationTransfersExactly(uint256 value, bytes32 nonce) public {
        value = bound(value, 0, 1000 ether);
        bytes memory sig = _sign(
            alicePk,
            _authDigest(token.TRANSFER_WITH_AUTHORIZATION_TYPEHASH(), alice, bob, value, 0, block.timestamp + 1, nonce)
        );
        token.transferWithAuthorization(alice, bob, value, 0, block.timestamp + 1, nonce, sig);
        assertEq(token.balanceOf(bob), value);
        assertEq(token.balanceOf(alice), 1000 ether - value);
    }

    // ------------------------------------------------------------ votes

    function test_votesFollowDelegation() public {
        vm.prank(alice);
        token.delegate(alice);
        assertEq(token.getVotes(alice), 1000 ether);
        vm.prank(alice);
        token.transfer(bob, 400 ether);
        assertEq(token.getVotes(alice), 600 ether);
        vm.roll(block.number + 1);
        assertEq(token.getPastVotes(alice, block.number - 1), 600 ether);
    }
}

/// @notice Drives random transfers, bridge mints/burns and authorizations over a fixed set of actors.
contract TokenHandler is Test {
    OpenToken public token;
    address public bridge;
    address[] public actors;
    uint256[] internal keys;

    constructor(OpenToken token_, address bridge_) {
        token = token_;
        bridge = bridge_;
        for (uint256 i = 1; i <= 4; i++) {
            keys.push(i * 0x1000);
            actors.push(vm.addr(i * 0x1000));
        }
        actors.push(bridge_);
    }

    function actorCount() external view returns (uint256) {
        return actors.length;
    }

    function transfer(uint256 fromSeed, uint256 toSeed, uint256 amount) external {
        address from = actors[fromSeed % actors.length];
        address to = actors[toSeed % actors.length];
        amount = bound(amount, 0, token.balanceOf(from));
        vm.prank(from);
        token.transfer(to, amount);
    }

    function mint(uint256 toSeed, uint256 amount) external {
        amount = bound(amount, 0, 1e30);
        vm.prank(bridge);
        token.mint(actors[toSeed % actors.length], amount);
    }

    function burn(uint256 amount) external {
        amount = bound(amount, 0, token.balanceOf(bridge));
        vm.prank(bridge);
        token.burn(bridge, amount);
    }

    function authorize(uint256 fromSeed, uint256 toSeed, uint256 amount, bytes32 nonce) external {
        uint256 i = fromSeed % keys.length;
        address from = actors[i];
        address to = actors[toSeed % actors.length];
        amount = bound(amount, 0, token.balanceOf(from));
        if (token.authorizationState(from, nonce)) return;
        bytes32 structHash = keccak256(
            abi.encode(token.TRANSFER_WITH_AUTHORIZATION_TYPEHASH(), from, to, amount, 0, block.timestamp + 1, nonce)
        );
        (uint8 v, bytes32 r, bytes32 s) =
            vm.sign(keys[i], keccak256(abi.encodePacked("\x19\x01", token.DOMAIN_SEPARATOR(), structHash)));
        token.transferWithAuthorization(from, to, amount, 0, block.timestamp + 1, nonce, v, r, s);
    }
}

contract OpenTokenInvariantTest is Test {
    OpenToken token;
    TokenHandler handler;

    function setUp() public {
        address admin = makeAddr("admin");
        address bridge = makeAddr("bridge");
        token = new OpenToken(admin, bridge, 1_000_000 ether);
        bytes32 role = token.BRIDGE_ROLE();
        vm.prank(admin);
        token.grantRole(role, bridge);
        handler = new TokenHandler(token, bridge);
        address first = handler.actors(0);
        vm.prank(bridge);
        token.transfer(first, 500_000 ether);
        targetContract(address(handler));
    }

    /// forge-config: default.invariant.fail-on-revert = true
    function invariant_supplyEqualsSumOfBalances() public view {
        uint256 sum;
        for (uint256 i = 0; i < handler.actorCount(); i++) {
            sum += token.balanceOf(handler.actors(i));
        }
        assertEq(sum, token.totalSupply());
    }
}
