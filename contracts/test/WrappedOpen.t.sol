// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Test} from "forge-std/Test.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {EIP3009} from "../src/token/EIP3009.sol";
import {WrappedOpen} from "../src/token/WrappedOpen.sol";

contract NativeRejecter {}

contract WrappedOpenTest is Test {
    WrappedOpen wopen;
    uint256 alicePk = 0xA11CE;
    address alice = vm.addr(alicePk);
    address bob = makeAddr("bob");

    function setUp() public {
        wopen = new WrappedOpen();
        vm.deal(alice, 100 ether);
    }

    function test_metadata() public view {
        assertEq(wopen.name(), "Wrapped OPEN");
        assertEq(wopen.symbol(), "WOPEN");
        assertEq(wopen.totalSupply(), 0);
    }

    function test_depositAndReceiveMint1to1() public {
        vm.expectEmit(address(wopen));
        emit WrappedOpen.Deposit(alice, 3 ether);
        vm.prank(alice);
        wopen.deposit{value: 3 ether}();
        vm.prank(alice);
        (bool ok,) = address(wopen).call{value: 2 ether}("");
        assertTrue(ok);
        assertEq(wopen.balanceOf(alice), 5 ether);
        assertEq(address(wopen).balance, 5 ether);
    }

    function test_withdrawBurnsAndSendsNative() public {
        vm.startPrank(alice);
        wopen.deposit{value: 10 ether}();
        wopen.withdraw(4 ether);
        wopen.withdrawTo(payable(bob), 1 ether);
        vm.stopPrank();
        assertEq(alice.balance, 94 ether);
        assertEq(bob.balance, 1 ether);
        assertEq(wopen.totalSupply(), 5 ether);
        assertEq(address(wopen).balance, 5 ether);
    }

    function test_withdrawMoreThanBalanceReverts() public {
        vm.prank(alice);
        wopen.deposit{value: 1 ether}();
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientBalance.selector, alice, 1 ether, type(uint256).max)
        );
        vm.prank(alice);
        wopen.withdraw(type(uint256).max);
    }

    function test_withdrawToRejectingReceiverReverts() public {
        address rejecter = address(new NativeRejecter());
        vm.prank(alice);
        wopen.deposit{value: 1 ether}();
        vm.expectRevert(abi.encodeWithSelector(WrappedOpen.NativeTransferFailed.selector, rejecter, 1 ether));
        vm.prank(alice);
        wopen.withdrawTo(payable(rejecter), 1 ether);
        assertEq(wopen.balanceOf(alice), 1 ether);
    }

    function test_zeroDepositIsANoOp() public {
        vm.prank(alice);
        wopen.deposit{value: 0}();
        assertEq(wopen.totalSupply(), 0);
    }

    function test_eip3009OnWrapped() public {
        vm.prank(alice);
        wopen.deposit{value: 2 ether}();
        bytes32 nonce = keccak256("w1");
        bytes32 structHash = keccak256(
            abi.encode(wopen.TRANSFER_WITH_AUTHORIZATION_TYPEHASH(), alice, bob, 2 ether, 0, block.timestamp + 5, nonce)
        );
        (uint8 v, bytes32 r, bytes32 s) =
            vm.sign(alicePk, keccak256(abi.encodePacked("\x19\x01", wopen.DOMAIN_SEPARATOR(), structHash)));
        wopen.transferWithAuthorization(alice, bob, 2 ether, 0, block.timestamp + 5, nonce, v, r, s);
        assertEq(wopen.balanceOf(bob), 2 ether);
        vm.expectRevert(abi.encodeWithSelector(EIP3009.AuthorizationAlreadyUsed.selector, alice, nonce));
        wopen.transferWithAuthorization(alice, bob, 2 ether, 0, block.timestamp + 5, nonce, v, r, s);
    }

    function test_permitOnWrapped() public {
        bytes32 structHash = keccak256(
            abi.encode(
                keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)"),
                alice,
                bob,
                7,
                0,
                block.timestamp
            )
        );
        (uint8 v, bytes32 r, bytes32 s) =
            vm.sign(alicePk, keccak256(abi.encodePacked("\x19\x01", wopen.DOMAIN_SEPARATOR(), structHash)));
        wopen.permit(alice, bob, 7, block.timestamp, v, r, s);
        assertEq(wopen.allowance(alice, bob), 7);
    }

    function testFuzz_depositWithdrawRoundTrip(uint96 amountIn, uint96 amountOut) public {
        vm.deal(bob, amountIn);
        vm.prank(bob);
        wopen.deposit{value: amountIn}();
        uint256 out = bound(amountOut, 0, amountIn);
        vm.prank(bob);
        wopen.withdraw(out);
        assertEq(bob.balance, out);
        assertEq(wopen.balanceOf(bob), amountIn - out);
        assertEq(address(wopen).balance, wopen.totalSupply());
    }
}

contract WrappedHandler is Test {
    WrappedOpen public wopen;
    address[] public actors;

    constructor(WrappedOpen wopen_) {
        wopen = wopen_;
        for (uint256 i = 1; i <= 4; i++) {
            address a = address(uint160(0xBEEF00 + i));
            actors.push(a);
            vm.deal(a, 1e30);
        }
    }

    function actorCount() external view returns (uint256) {
        return actors.length;
    }

    function deposit(uint256 seed, uint256 amount) external {
        address a = actors[seed % actors.length];
        amount = bound(amount, 0, a.balance);
        vm.prank(a);
        wopen.deposit{value: amount}();
    }

    function withdraw(uint256 seed, uint256 amount) external {
        address a = actors[seed % actors.length];
        amount = bound(amount, 0, wopen.balanceOf(a));
        vm.prank(a);
        wopen.withdraw(amount);
    }

    function transfer(uint256 fromSeed, uint256 toSeed, uint256 amount) external {
        address from = actors[fromSeed % actors.length];
        amount = bound(amount, 0, wopen.balanceOf(from));
        vm.prank(from);
        wopen.transfer(actors[toSeed % actors.length], amount);
    }
}

contract WrappedOpenInvariantTest is Test {
    WrappedOpen wopen;
    WrappedHandler handler;

    function setUp() public {
        wopen = new WrappedOpen();
        handler = new WrappedHandler(wopen);
        targetContract(address(handler));
    }

    /// forge-config: default.invariant.fail-on-revert = true
    function invariant_backedAndSummed() public view {
        uint256 sum;
        for (uint256 i = 0; i < handler.actorCount(); i++) {
            sum += wopen.balanceOf(handler.actors(i));
        }
        assertEq(sum, wopen.totalSupply());
        assertEq(address(wopen).balance, wopen.totalSupply());
    }
}
