// The protocol's end-to-end suite, driven only through the sdk's viem actions. It takes the RPC URL as
// a parameter so the same tests run against anvil (protocol.anvil.test.ts) and later against the
// project's own L2 node. Needs the dev accounts funded with native currency; deploys its own protocol
// instance. Settlement parameters are set before the first batch (later changes wait out a timelock);
// the challenge windows are short and advanced with evm_increaseTime where the chain has it.
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { devAccounts } from "@openledger/devnet";
import { chunkContentHash, chunkLeaf, MerkleTree } from "@openledger/merkle";
import {
  type Account,
  type Address,
  type Chain,
  createWalletClient,
  encodeAbiParameters,
  encodeFunctionData,
  getAddress,
  type Hex,
  http,
  keccak256,
  maxUint256,
  type PublicClient,
  type Transport,
  type WalletClient,
  zeroAddress,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import {
  activateStake,
  answerDebit,
  answerEvidence,
  approveToken,
  authorizationOf,
  authorizationState,
  authorize,
  authorizeWithSignature,
  buildPayoutTree,
  buyLicense,
  cancelAuthorization,
  challenge,
  claim,
  claimDatanetEarnings,
  claimEarnings,
  claimRewards,
  claimRoyalty,
  connect,
  contribute,
  contributeBatch,
  contributionIdOf,
  createDatanet,
  curate,
  curateBatch,
  currentParams,
  datanetClaimable,
  debitableOf,
  delegate,
  deployProtocol,
  deposit,
  depositWithAuthorization,
  disputeDebit,
  earningsOf,
  escrowOf,
  executeAuthorization,
  getBatch,
  getContribution,
  getDispute,
  getFeeSplit,
  getProvenance,
  getSnapshot,
  hasLicense,
  isClaimed,
  isCurator,
  isOperator,
  modelRegistryAbi,
  OpenLedgerContractError,
  openTokenAbi,
  type ProtocolAddresses,
  pendingRewards,
  permit,
  poolOf,
  postBatch,
  publishModelVersion,
  publishSnapshot,
  refund,
  registerModel,
  requestEvidence,
  requestWithdraw,
  resolveDispute,
  retireModel,
  SLASHER_ROLE,
  setParams,
  setVerifier,
  signDepositAuthorization,
  signPermit,
  signSpendingAuthorization,
  signTransferAuthorization,
  signVoucher,
  snapshotIdOf,
  spdxToBytes32,
  splitFee,
  stake,
  stakingAbi,
  tokenAllowance,
  tokenBalance,
  transact,
  transferToken,
  unbond,
  unbondingOf,
  warmingOf,
  withdraw,
  withdrawalOf,
  withdrawUnbonded,
} from "../src/index.ts";
import { compileFixtures } from "./fixtures.ts";

const OPEN = 10n ** 18n;
type Wallet = WalletClient<Transport, Chain, Account>;

/** Asserts that `promise` rejects with an OpenLedgerContractError naming `errorName`. */
async function revertsWith(promise: Promise<unknown>, errorName: string): Promise<OpenLedgerContractError> {
  let caught: unknown;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof OpenLedgerContractError, `expected ${errorName}, got ${String(caught)}`);
  assert.equal(caught.errorName, errorName, caught.message);
  return caught;
}

export function protocolSuite(getRpcUrl: () => string): void {
  describe("OpenLedger protocol through the sdk", () => {
    let pub: PublicClient<Transport, Chain>;
    let w: Wallet[];
    let a: ProtocolAddresses;
    // accounts by role
    const [admin, owner, alice, bob, builder, operator, user, delegator, mallory] = devAccounts.map(
      (d) => d.address,
    );
    const wallet = (address: Address) => w[devAccounts.findIndex((d) => d.address === address)];
    const now = async () => (await pub.getBlock()).timestamp;
    const adminCall = (to: Address, data: Hex, label: string) => transact(wallet(admin), { to, data, label });

    // shared across the flow
    let snapshotId: bigint;
    let contributorsTree: MerkleTree;
    const weights: [Address, bigint][] = [];
    let modelId: bigint;

    before(async () => {
      const rpc = getRpcUrl();
      const conn = await connect(rpc);
      pub = conn.publicClient;
      w = devAccounts.map((d) =>
        createWalletClient({
          chain: conn.chain,
          transport: http(rpc),
          account: privateKeyToAccount(d.privateKey),
        }),
      );
      const deploymentsDir = mkdtempSync(join(tmpdir(), "openledger-suite-"));
      const result = await deployProtocol(wallet(admin), pub, { deploymentsDir, fresh: true });
      a = result.addresses;
      for (const who of [owner, alice, bob, builder, operator, user, delegator, mallory]) {
        await transferToken(wallet(admin), { token: a.token, to: who, amount: 100_000n * OPEN });
      }
    });

    describe("$OPEN: EIP-2612 and EIP-3009", () => {
      test("a permit signed with signTypedData lets the spender pull; replay and expiry are refused", async () => {
        const deadline = (await now()) + 3600n;
        const signed = await signPermit(wallet(alice), {
          token: a.token,
          spender: bob,
          value: 50n * OPEN,
          deadline,
        });
        await permit(wallet(mallory), { token: a.token, permit: signed }); // anyone may relay it
        assert.equal(await tokenAllowance(pub, { token: a.token, owner: alice, spender: bob }), 50n * OPEN);
        await revertsWith(
          permit(wallet(mallory), { token: a.token, permit: signed }),
          "ERC2612InvalidSigner",
        );
        const stale = await signPermit(wallet(alice), {
          token: a.token,
          spender: bob,
          value: 1n,
          deadline: (await now()) - 1n,
        });
        const err = await revertsWith(
          permit(wallet(bob), { token: a.token, permit: stale }),
          "ERC2612ExpiredSignature",
        );
        assert.match(err.message, /deadline has passed/);
      });

      test("transferWithAuthorization moves tokens once; the replay is refused with a hint", async () => {
        const before = await tokenBalance(pub, { token: a.token, account: bob });
        const auth = await signTransferAuthorization(wallet(alice), {
          token: a.token,
          to: bob,
          value: 10n * OPEN,
          validBefore: (await now()) + 3600n,
        });
        await executeAuthorization(wallet(mallory), { token: a.token, authorization: auth });
        assert.equal(await tokenBalance(pub, { token: a.token, account: bob }), before + 10n * OPEN);
        assert.equal(
          await authorizationState(pub, { token: a.token, authorizer: alice, nonce: auth.nonce }),
          true,
        );
        const err = await revertsWith(
          executeAuthorization(wallet(mallory), { token: a.token, authorization: auth }),
          "AuthorizationAlreadyUsed",
        );
        assert.deepEqual(err.args, [alice, auth.nonce]);
        assert.match(err.message, /fresh random nonce/);
      });

      test("expired, tampered, cancelled and misdirected authorisations are refused", async () => {
        const t = await now();
        const expired = await signTransferAuthorization(wallet(alice), {
          token: a.token,
          to: bob,
          value: 1n,
          validBefore: t,
        });
        await revertsWith(
          executeAuthorization(wallet(bob), { token: a.token, authorization: expired }),
          "AuthorizationExpired",
        );
        const early = await signTransferAuthorization(wallet(alice), {
          token: a.token,
          to: bob,
          value: 1n,
          validAfter: t + 3600n,
          validBefore: t + 7200n,
        });
        await revertsWith(
          executeAuthorization(wallet(bob), { token: a.token, authorization: early }),
          "AuthorizationNotYetValid",
        );
        const good = await signTransferAuthorization(wallet(alice), {
          token: a.token,
          to: bob,
          value: 1n,
          validBefore: t + 3600n,
        });
        await revertsWith(
          executeAuthorization(wallet(bob), { token: a.token, authorization: { ...good, value: 2n } }),
          "InvalidAuthorizationSignature",
        );
        await cancelAuthorization(wallet(alice), { token: a.token, nonce: good.nonce });
        await revertsWith(
          executeAuthorization(wallet(bob), { token: a.token, authorization: good }),
          "AuthorizationAlreadyUsed",
        );
        const receive = await signTransferAuthorization(wallet(alice), {
          token: a.token,
          to: bob,
          value: 1n,
          validBefore: t + 3600n,
          kind: "receive",
        });
        await revertsWith(
          executeAuthorization(wallet(mallory), { token: a.token, authorization: receive }),
          "CallerNotPayee",
        );
        await executeAuthorization(wallet(bob), { token: a.token, authorization: receive });
      });

      test("zero and max-uint amounts; only the bridge role may mint", async () => {
        await revertsWith(
          transferToken(wallet(alice), { token: a.token, to: bob, amount: maxUint256 }),
          "ERC20InsufficientBalance",
        );
        await transferToken(wallet(alice), { token: a.token, to: bob, amount: 0n });
        await approveToken(wallet(alice), { token: a.token, spender: bob, amount: maxUint256 });
        assert.equal(await tokenAllowance(pub, { token: a.token, owner: alice, spender: bob }), maxUint256);
        await approveToken(wallet(alice), { token: a.token, spender: bob, amount: 0n });
        await revertsWith(
          transferToken(wallet(alice), { token: a.token, to: zeroAddress, amount: 1n }),
          "ERC20InvalidReceiver",
        );
        const mint = encodeFunctionData({ abi: openTokenAbi, functionName: "mint", args: [mallory, 1n] });
        await revertsWith(
          transact(wallet(mallory), { to: a.token, data: mint, label: "mint" }),
          "AccessControlUnauthorizedAccount",
        );
        await revertsWith(
          transact(wallet(admin), { to: a.token, data: mint, label: "mint" }),
          "AccessControlUnauthorizedAccount",
        );
      });
    });

    describe("Datanets", () => {
      let datanetId: bigint;
      const texts = [
        "the cat sat",
        "on the mat",
        "a bird sang",
        "in the tree",
        "spam spam spam",
        "late entry",
      ];
      const ids: bigint[] = [];

      test("create, contribute in a batch and singly, curate in a batch", async () => {
        const created = await createDatanet(wallet(owner), {
          registry: a.datanetRegistry,
          metadataURI: "ipfs://datanet-meta",
          licensePrice: 100n * OPEN,
          ownerBps: 2000,
          bond: OPEN,
          curators: [],
        });
        datanetId = created.datanetId;
        assert.ok(datanetId >= 1n);
        for (const who of [alice, bob]) {
          await approveToken(wallet(who), { token: a.token, spender: a.datanetRegistry, amount: 10n * OPEN });
        }
        const license = spdxToBytes32("CC-BY-4.0");
        const entry = (text: string) => ({
          contentHash: chunkContentHash(text),
          byteSize: BigInt(Buffer.byteLength(text)),
          license,
        });
        const batch = await contributeBatch(wallet(alice), {
          registry: a.datanetRegistry,
          datanetId,
          contributions: texts.slice(0, 3).map(entry),
        });
        assert.equal(batch.contributionIds.length, 3);
        ids.push(...batch.contributionIds);
        const bobBatch = await contributeBatch(wallet(bob), {
          registry: a.datanetRegistry,
          datanetId,
          contributions: texts.slice(3, 5).map(entry),
        });
        ids.push(...bobBatch.contributionIds);
        const single = await contribute(wallet(bob), {
          registry: a.datanetRegistry,
          datanetId,
          ...entry(texts[5]),
        });
        ids.push(single.contributionId);
        assert.deepEqual(
          ids.map((id) => id - ids[0]),
          [0n, 1n, 2n, 3n, 4n, 5n],
        );
        const dup = await revertsWith(
          contribute(wallet(bob), { registry: a.datanetRegistry, datanetId, ...entry(texts[0]) }),
          "DuplicateContribution",
        );
        assert.equal(dup.args[2], ids[0]);
        await revertsWith(
          contributeBatch(wallet(bob), { registry: a.datanetRegistry, datanetId, contributions: [] }),
          "EmptyBatch",
        );
        await revertsWith(
          curate(wallet(mallory), { registry: a.datanetRegistry, contributionId: ids[0], accept: true }),
          "NotCurator",
        );
        await curateBatch(wallet(owner), {
          registry: a.datanetRegistry,
          decisions: ids.slice(0, 5).map((contributionId, i) => ({ contributionId, accept: i !== 4 })),
        });
        await curate(wallet(owner), { registry: a.datanetRegistry, contributionId: ids[5], accept: true });
        await revertsWith(
          curate(wallet(owner), { registry: a.datanetRegistry, contributionId: ids[5], accept: false }),
          "ContributionNotPending",
        );
        assert.equal(
          await contributionIdOf(pub, {
            registry: a.datanetRegistry,
            datanetId,
            contentHash: chunkContentHash(texts[2]),
          }),
          ids[2],
        );
        assert.equal(await isCurator(pub, { registry: a.datanetRegistry, datanetId, account: owner }), true);
        assert.equal(
          await isCurator(pub, { registry: a.datanetRegistry, datanetId, account: mallory }),
          false,
        );
        const rejected = await getContribution(pub, { registry: a.datanetRegistry, contributionId: ids[4] });
        assert.equal(rejected.status, 3); // Rejected
        // accepted bonds are refunded to the contributors' claimable balances
        assert.equal(await datanetClaimable(pub, { registry: a.datanetRegistry, account: bob }), 2n * OPEN);
      });

      test("publish a snapshot with chunk and contributor roots; licenses split the fee; royalties pull by proof", async () => {
        const accepted = [0, 1, 2, 3, 5];
        const chunkTree = MerkleTree.build(
          accepted.map((i) => chunkLeaf(ids[i], 0, chunkContentHash(texts[i]))),
        );
        weights.push([alice, 3n], [bob, 2n]);
        contributorsTree = buildPayoutTree(weights.map(([account, amount]) => ({ account, amount }))).tree!;
        await revertsWith(
          publishSnapshot(wallet(mallory), {
            registry: a.datanetRegistry,
            datanetId,
            chunksRoot: chunkTree.root,
            chunkCount: 5,
            contributionCount: 5,
            contributorsRoot: contributorsTree.root,
            totalWeight: 5n,
            uri: "x",
          }),
          "NotDatanetOwner",
        );
        const snap = await publishSnapshot(wallet(owner), {
          registry: a.datanetRegistry,
          datanetId,
          chunksRoot: chunkTree.root,
          chunkCount: 5,
          contributionCount: 5,
          contributorsRoot: contributorsTree.root,
          totalWeight: 5n,
          uri: "ipfs://snapshot-v1",
        });
        snapshotId = snap.snapshotId;
        assert.equal(snap.version, 1);
        assert.equal(
          await snapshotIdOf(pub, { registry: a.datanetRegistry, datanetId, version: 1 }),
          snapshotId,
        );
        const stored = await getSnapshot(pub, { registry: a.datanetRegistry, snapshotId });
        assert.equal(stored.chunksRoot, chunkTree.root);

        await approveToken(wallet(builder), {
          token: a.token,
          spender: a.datanetRegistry,
          amount: 100n * OPEN,
        });
        const bought = await buyLicense(wallet(builder), { registry: a.datanetRegistry, snapshotId });
        assert.equal(bought.price, 100n * OPEN);
        assert.equal(bought.ownerShare, 20n * OPEN);
        assert.equal(bought.ownerShare + bought.contributorsShare, bought.price);
        assert.equal(
          await hasLicense(pub, { registry: a.datanetRegistry, snapshotId, account: builder }),
          true,
        );
        await revertsWith(
          buyLicense(wallet(builder), { registry: a.datanetRegistry, snapshotId }),
          "AlreadyLicensed",
        );
        await revertsWith(
          buyLicense(wallet(builder), { registry: a.datanetRegistry, snapshotId, licensee: zeroAddress }),
          "ZeroAddress",
        );

        const aliceBefore = await tokenBalance(pub, { token: a.token, account: alice });
        const royalty = await claimRoyalty(wallet(mallory), {
          registry: a.datanetRegistry,
          snapshotId,
          account: alice,
          weight: 3n,
          proof: contributorsTree.proof(0),
        });
        assert.equal(royalty.amount, 48n * OPEN); // 80 OPEN * 3/5
        assert.equal(await tokenBalance(pub, { token: a.token, account: alice }), aliceBefore + 48n * OPEN);
        await revertsWith(
          claimRoyalty(wallet(alice), {
            registry: a.datanetRegistry,
            snapshotId,
            account: alice,
            weight: 3n,
            proof: contributorsTree.proof(0),
          }),
          "NothingToClaim",
        );
        await revertsWith(
          claimRoyalty(wallet(bob), {
            registry: a.datanetRegistry,
            snapshotId,
            account: bob,
            weight: 5n,
            proof: contributorsTree.proof(1),
          }),
          "InvalidProof",
        );
        const earned = await claimDatanetEarnings(wallet(owner), { registry: a.datanetRegistry });
        assert.equal(earned.amount, 20n * OPEN);
        await revertsWith(
          claimDatanetEarnings(wallet(owner), { registry: a.datanetRegistry }),
          "NothingToClaim",
        );
      });

      test("hostile parameters are refused with the failing values", async () => {
        const bps = await revertsWith(
          createDatanet(wallet(mallory), {
            registry: a.datanetRegistry,
            metadataURI: "",
            licensePrice: 0n,
            ownerBps: 10_001,
          }),
          "InvalidBps",
        );
        assert.deepEqual(bps.args, [10_001n]);
        await revertsWith(
          createDatanet(wallet(mallory), {
            registry: a.datanetRegistry,
            metadataURI: "",
            licensePrice: maxUint256,
            ownerBps: 0,
            bond: maxUint256,
          }),
          "BondTooLarge",
        );
        await revertsWith(
          contribute(wallet(mallory), {
            registry: a.datanetRegistry,
            datanetId,
            contentHash: `0x${"00".repeat(32)}`,
            byteSize: 1n,
            license: spdxToBytes32("MIT"),
          }),
          "ZeroContentHash",
        );
      });
    });

    describe("Models", () => {
      test("register a model version with provenance; refused without a license", async () => {
        const provenance = {
          baseModelHash: keccak256("0x01"),
          adapterHash: keccak256("0x02"),
          adapterURI: "ipfs://adapter",
          snapshotIds: [snapshotId],
          trainingConfigHash: keccak256("0x03"),
          pricePer1kTokens: OPEN / 100n,
        };
        const model = await registerModel(wallet(builder), {
          registry: a.modelRegistry,
          metadataURI: "ipfs://model",
          version: provenance,
        });
        modelId = model.modelId;
        assert.equal(model.version, 1);
        const read = await getProvenance(pub, { registry: a.modelRegistry, modelId });
        assert.equal(read.owner, builder);
        assert.deepEqual(read.snapshotIds, [snapshotId]);
        assert.equal(read.adapterHash, provenance.adapterHash);
        const snap = await getSnapshot(pub, { registry: a.datanetRegistry, snapshotId });
        assert.deepEqual(read.trainingRoots, [snap.chunksRoot]);

        const unlicensed = await registerModel(wallet(mallory), {
          registry: a.modelRegistry,
          metadataURI: "ipfs://x",
        });
        await revertsWith(
          publishModelVersion(wallet(mallory), {
            registry: a.modelRegistry,
            modelId: unlicensed.modelId,
            ...provenance,
          }),
          "MissingLicense",
        );
        await revertsWith(
          publishModelVersion(wallet(mallory), {
            registry: a.modelRegistry,
            modelId: unlicensed.modelId,
            ...provenance,
            snapshotIds: [snapshotId + 1000n],
          }),
          "UnknownSnapshot",
        );
        await revertsWith(
          publishModelVersion(wallet(mallory), { registry: a.modelRegistry, modelId, ...provenance }),
          "NotModelOwner",
        );
        await revertsWith(
          retireModel(wallet(mallory), { registry: a.modelRegistry, modelId }),
          "NotModelOwner",
        );
        await retireModel(wallet(mallory), { registry: a.modelRegistry, modelId: unlicensed.modelId });
        const active = await pub.readContract({
          address: a.modelRegistry,
          abi: modelRegistryAbi,
          functionName: "isActive",
          args: [unlicensed.modelId],
        });
        assert.equal(active, false);
      });
    });

    describe("Staking, escrow and settlement", () => {
      const fee = 1_000n * OPEN + 7n; // odd wei to exercise rounding
      const WINDOW = 5n; // challenge and response windows, seconds
      let testVerifier: Address;
      /** Moves the chain's clock forward (anvil), or waits it out on a chain without time travel. */
      const advance = async (seconds: bigint) => {
        try {
          await pub.request({ method: "evm_increaseTime", params: [Number(seconds)] } as never);
          await pub.request({ method: "evm_mine", params: [] } as never);
        } catch {
          await new Promise((r) => setTimeout(r, Number(seconds) * 1000 + 1000));
        }
      };

      test("operators stake, delegators delegate; unknown operators and zero stakes are refused", async () => {
        await approveToken(wallet(operator), { token: a.token, spender: a.staking, amount: maxUint256 });
        await approveToken(wallet(delegator), { token: a.token, spender: a.staking, amount: maxUint256 });
        const staked = await stake(wallet(operator), { staking: a.staking, amount: 2_000n * OPEN });
        assert.equal(staked.shares, 2_000n * OPEN);
        assert.equal(await isOperator(pub, { staking: a.staking, operator }), true);
        await delegate(wallet(delegator), { staking: a.staking, operator, amount: 500n * OPEN });
        assert.deepEqual(await poolOf(pub, { staking: a.staking, operator }), {
          registered: true,
          activeStake: 2_500n * OPEN,
          shares: 2_500n * OPEN,
          unbonding: 0n,
        });
        await revertsWith(
          delegate(wallet(delegator), { staking: a.staking, operator: mallory, amount: OPEN }),
          "UnknownOperator",
        );
        await revertsWith(stake(wallet(operator), { staking: a.staking, amount: 0n }), "ZeroAmount");
        // max-uint overflows the share arithmetic: a checked-arithmetic panic, decoded with its hint
        const overflow = await revertsWith(
          stake(wallet(operator), { staking: a.staking, amount: maxUint256 }),
          "Panic",
        );
        assert.deepEqual(overflow.args, [0x11n]);
        assert.match(overflow.message, /overflow/);
        const slash = encodeFunctionData({
          abi: stakingAbi,
          functionName: "slash",
          args: [operator, 1n, mallory],
        });
        await revertsWith(
          transact(wallet(mallory), { to: a.staking, data: slash, label: "slash" }),
          "AccessControlUnauthorizedAccount",
        );
        const grant = encodeFunctionData({
          abi: stakingAbi,
          functionName: "grantRole",
          args: [SLASHER_ROLE, mallory],
        });
        await revertsWith(
          transact(wallet(mallory), { to: a.staking, data: grant, label: "grantRole" }),
          "AccessControlUnauthorizedAccount",
        );
      });

      test("escrow: approve+deposit, EIP-3009 deposit, a withdrawal request that matures then expires", async () => {
        await approveToken(wallet(user), {
          token: a.token,
          spender: a.inferenceSettlement,
          amount: 5_000n * OPEN,
        });
        await deposit(wallet(user), { settlement: a.inferenceSettlement, amount: 3_000n * OPEN });
        const auth = await signDepositAuthorization(wallet(user), {
          token: a.token,
          settlement: a.inferenceSettlement,
          value: 500n * OPEN,
          validBefore: (await now()) + 3600n,
        });
        await depositWithAuthorization(wallet(mallory), {
          settlement: a.inferenceSettlement,
          authorization: auth,
        });
        await revertsWith(
          depositWithAuthorization(wallet(mallory), {
            settlement: a.inferenceSettlement,
            authorization: auth,
          }),
          "AuthorizationAlreadyUsed",
        );
        assert.equal(
          await escrowOf(pub, { settlement: a.inferenceSettlement, account: user }),
          3_500n * OPEN,
        );
        await revertsWith(
          deposit(wallet(user), { settlement: a.inferenceSettlement, amount: 0n }),
          "ZeroAmount",
        );
        await revertsWith(
          // the contract pulls the tokens before crediting, so max-uint fails on the allowance, not an overflow
          deposit(wallet(user), { settlement: a.inferenceSettlement, amount: maxUint256 }),
          "ERC20InsufficientAllowance",
        );
        await revertsWith(
          deposit(wallet(mallory), { settlement: a.inferenceSettlement, amount: 1n }),
          "ERC20InsufficientAllowance",
        );
        await revertsWith(
          requestWithdraw(wallet(user), { settlement: a.inferenceSettlement, amount: 10_000n * OPEN }),
          "InsufficientEscrow",
        );
        const requested = await requestWithdraw(wallet(user), {
          settlement: a.inferenceSettlement,
          amount: 100n * OPEN,
        });
        assert.equal(requested.expiresAt - requested.readyAt, 86_400n);
        assert.deepEqual(await withdrawalOf(pub, { settlement: a.inferenceSettlement, account: user }), {
          amount: 100n * OPEN,
          readyAt: requested.readyAt,
          expiresAt: requested.expiresAt,
        });
        await revertsWith(
          withdraw(wallet(user), { settlement: a.inferenceSettlement }),
          "WithdrawalNotReady",
        );
        const current = await currentParams(pub, { settlement: a.inferenceSettlement });
        const noDelay = { ...current, withdrawalDelay: 0n };
        await revertsWith(
          setParams(wallet(mallory), { settlement: a.inferenceSettlement, params: noDelay }),
          "AccessControlUnauthorizedAccount",
        );
        // no batch exists yet, so the admin's change applies at once (later ones wait out PARAMS_DELAY)
        await setParams(wallet(admin), { settlement: a.inferenceSettlement, params: noDelay });
        await requestWithdraw(wallet(user), { settlement: a.inferenceSettlement, amount: 100n * OPEN });
        assert.equal(
          await debitableOf(pub, { settlement: a.inferenceSettlement, account: user }),
          3_400n * OPEN,
        );
        const out = await withdraw(wallet(user), { settlement: a.inferenceSettlement });
        assert.equal(out.amount, 100n * OPEN);
        await revertsWith(
          withdraw(wallet(user), { settlement: a.inferenceSettlement }),
          "NoWithdrawalRequested",
        );
      });

      test("payers authorise operators on chain or by signature; debits stay within the cap", async () => {
        const expiry = (await now()) + 86_400n;
        await authorize(wallet(user), {
          settlement: a.inferenceSettlement,
          operator,
          cap: 3_000n * OPEN,
          expiry,
        });
        assert.deepEqual(
          await authorizationOf(pub, { settlement: a.inferenceSettlement, payer: user, operator }),
          { cap: 3_000n * OPEN, spent: 0n, expiry, voucherOnly: false },
        );
        // bob (an SDK client) signs a voucher-only authorisation; the operator submits it
        await approveToken(wallet(bob), {
          token: a.token,
          spender: a.inferenceSettlement,
          amount: maxUint256,
        });
        await deposit(wallet(bob), { settlement: a.inferenceSettlement, amount: 1_000n * OPEN });
        const signed = await signSpendingAuthorization(wallet(bob), {
          settlement: a.inferenceSettlement,
          operator,
          cap: 1_000n * OPEN,
          expiry: (await now()) + 86_400n,
          voucherOnly: true,
        });
        await authorizeWithSignature(wallet(operator), { settlement: a.inferenceSettlement, ...signed });
        await revertsWith(
          authorizeWithSignature(wallet(operator), { settlement: a.inferenceSettlement, ...signed }),
          "InvalidAuthorizationNonce",
        );
        await revertsWith(
          authorizeWithSignature(wallet(operator), {
            settlement: a.inferenceSettlement,
            authorization: { ...signed.authorization, cap: maxUint256 >> 160n },
            signature: signed.signature,
          }),
          "InvalidSignature",
        );
        const bobs = await authorizationOf(pub, { settlement: a.inferenceSettlement, payer: bob, operator });
        assert.equal(bobs.voucherOnly, true);
        assert.equal(bobs.cap, 1_000n * OPEN);
        // the parameters every batch below is posted with, set before the first batch (so at once)
        const { abi, bytecode } = compileFixtures().TestVerifier;
        const hash = await wallet(admin).deployContract({ abi, bytecode });
        testVerifier = (await pub.waitForTransactionReceipt({ hash })).contractAddress!;
        await revertsWith(
          setVerifier(wallet(mallory), { settlement: a.inferenceSettlement, verifier: testVerifier }),
          "AccessControlUnauthorizedAccount",
        );
        await setVerifier(wallet(admin), { settlement: a.inferenceSettlement, verifier: testVerifier });
        const current = await currentParams(pub, { settlement: a.inferenceSettlement });
        await setParams(wallet(admin), {
          settlement: a.inferenceSettlement,
          params: { ...current, challengeWindow: WINDOW, responseWindow: WINDOW, slashAmount: 100n * OPEN },
        });
        const params = await currentParams(pub, { settlement: a.inferenceSettlement });
        assert.equal(getAddress(params.verifier), getAddress(testVerifier));
        assert.equal(params.slashAmount, 100n * OPEN);
      });

      test("postBatch, record claims, no double claim; the fee is conserved to the wei", async () => {
        assert.deepEqual(await getFeeSplit(pub, { settlement: a.inferenceSettlement }), {
          platformBps: 500,
          modelOwnerBps: 3000,
          stakersBps: 1500,
          contributorsBps: 5000,
        });
        const split = await splitFee(pub, { settlement: a.inferenceSettlement, fee });
        assert.equal(split.platform + split.modelOwner + split.stakers + split.contributors, fee);
        const alicePart = (split.contributors * 3n) / 5n;
        const records = [
          { attribution: "0x01" as Hex, payouts: [{ account: alice, amount: alicePart }] },
          { attribution: "0x02" as Hex, payouts: [{ account: bob, amount: split.contributors - alicePart }] },
        ];
        const debits = [{ account: user, amount: fee }];
        const params = { settlement: a.inferenceSettlement, modelId, debits, records };
        await revertsWith(postBatch(wallet(mallory), params), "NotOperator");
        await revertsWith(postBatch(wallet(operator), { ...params, modelId: 999_999n }), "InactiveModel");
        await revertsWith(
          postBatch(wallet(operator), {
            ...params,
            records: [{ attribution: "0x01", payouts: [{ account: alice, amount: 1n }] }],
          }),
          "RecordsTotalMismatch",
        );
        await revertsWith(
          postBatch(wallet(operator), { ...params, debits: [{ account: user, amount: 3_000n * OPEN + 1n }] }),
          "SpendingCapExceeded",
        );
        await revertsWith(
          postBatch(wallet(operator), { ...params, debits: [{ account: alice, amount: 1n }] }),
          "SpendingAuthorizationExpired",
        );
        await revertsWith(postBatch(wallet(operator), { ...params, debits: [] }), "EmptyBatch");

        const rewardsBefore = await pendingRewards(pub, { staking: a.staking, operator, account: delegator });
        const posted = await postBatch(wallet(operator), params);
        assert.equal(posted.fee, fee);
        assert.deepEqual(posted.debitTree.entries, [
          { account: user, amount: fee, spentAfter: fee, voucherOnly: false },
        ]);
        const bobClaims = posted.recordTree.claimsOf(bob);
        assert.equal(bobClaims.length, 1);
        await revertsWith(
          claim(wallet(bob), {
            settlement: a.inferenceSettlement,
            batchId: posted.batchId,
            claims: bobClaims,
          }),
          "ChallengeWindowOpen",
        );
        // stake arriving while the batch is open warms up and takes none of its reward
        const lateStake = { staking: a.staking, operator, amount: 10_000n * OPEN };
        assert.equal((await delegate(wallet(delegator), lateStake)).shares, 0n);
        const warming = { staking: a.staking, operator, account: delegator };
        assert.deepEqual(await warmingOf(pub, warming), { amount: lateStake.amount, activatable: false });
        await revertsWith(activateStake(wallet(mallory), warming), "NothingToActivate");
        await advance(WINDOW);
        const bobBefore = await tokenBalance(pub, { token: a.token, account: bob });
        const forged = [{ ...bobClaims[0], payouts: [{ account: bob, amount: split.contributors }] }];
        await revertsWith(
          claim(wallet(bob), { settlement: a.inferenceSettlement, batchId: posted.batchId, claims: forged }),
          "InvalidRecordProof",
        );
        const claimed = await claim(wallet(bob), {
          settlement: a.inferenceSettlement,
          batchId: posted.batchId,
          claims: bobClaims,
        });
        assert.equal(claimed.amount, split.contributors - alicePart);
        assert.equal(await tokenBalance(pub, { token: a.token, account: bob }), bobBefore + claimed.amount);
        await revertsWith(
          claim(wallet(bob), {
            settlement: a.inferenceSettlement,
            batchId: posted.batchId,
            claims: bobClaims,
          }),
          "AlreadyClaimed",
        );
        // a relayer may claim on alice's behalf; tokens still go to alice
        const aliceBefore = await tokenBalance(pub, { token: a.token, account: alice });
        await claim(wallet(mallory), {
          settlement: a.inferenceSettlement,
          batchId: posted.batchId,
          claims: posted.recordTree.claimsOf(alice),
        });
        assert.equal(await tokenBalance(pub, { token: a.token, account: alice }), aliceBefore + alicePart);
        assert.equal(
          await isClaimed(pub, {
            settlement: a.inferenceSettlement,
            batchId: posted.batchId,
            index: 0n,
            entry: 0n,
          }),
          true,
        );
        const batch = await getBatch(pub, { settlement: a.inferenceSettlement, batchId: posted.batchId });
        assert.equal(batch.status, 2); // Finalized
        assert.equal(batch.contributorsClaimed, split.contributors);
        assert.equal(
          await earningsOf(pub, { settlement: a.inferenceSettlement, account: builder }),
          split.modelOwner,
        );
        const platform = await claimEarnings(wallet(admin), { settlement: a.inferenceSettlement });
        assert.equal(platform.amount, split.platform);
        await revertsWith(
          claimEarnings(wallet(admin), { settlement: a.inferenceSettlement }),
          "NothingToClaim",
        );
        // stakers' share went to the staking pool: the delegator holds 500 of 2500 staked
        const rewardsAfter = await pendingRewards(pub, { staking: a.staking, operator, account: delegator });
        const delegatorShare = rewardsAfter - rewardsBefore;
        assert.ok(
          delegatorShare <= split.stakers / 5n && split.stakers / 5n - delegatorShare <= 1n,
          `${delegatorShare}`,
        );
        // the batch closed: anyone may activate the late stake (which then leaves again)
        assert.equal((await activateStake(wallet(mallory), warming)).shares, lateStake.amount);
        const paid = await claimRewards(wallet(delegator), { staking: a.staking, operator });
        assert.equal(paid.amount, rewardsAfter);
        await unbond(wallet(delegator), lateStake);
      });

      test("a voucher answers a payer's dispute; an unanswered one reverts the batch and every debit is refunded", async () => {
        const split = await splitFee(pub, { settlement: a.inferenceSettlement, fee: 10n * OPEN });
        const records = [
          { attribution: "0x03" as Hex, payouts: [{ account: alice, amount: split.contributors }] },
        ];
        const batch = (debits: { account: Address; amount: bigint }[]) =>
          postBatch(wallet(operator), { settlement: a.inferenceSettlement, modelId, debits, records });
        const answered = await batch([{ account: bob, amount: 10n * OPEN }]);
        const [bobDebit] = answered.debitTree.proofsOf(bob);
        await revertsWith(
          disputeDebit(wallet(mallory), {
            settlement: a.inferenceSettlement,
            batchId: answered.batchId,
            debit: bobDebit,
          }),
          "NotPayer",
        );
        const dispute = await disputeDebit(wallet(bob), {
          settlement: a.inferenceSettlement,
          batchId: answered.batchId,
          debit: bobDebit,
        });
        const voucher = await signVoucher(wallet(bob), {
          settlement: a.inferenceSettlement,
          operator,
          cumulative: bobDebit.spentAfter,
        });
        await answerDebit(wallet(operator), {
          settlement: a.inferenceSettlement,
          disputeId: dispute.disputeId,
          debit: bobDebit,
          cumulative: bobDebit.spentAfter,
          voucher,
        });
        assert.equal(
          (await getDispute(pub, { settlement: a.inferenceSettlement, disputeId: dispute.disputeId })).status,
          2,
        );

        const escrowBefore = await escrowOf(pub, { settlement: a.inferenceSettlement, account: bob });
        const userBefore = await escrowOf(pub, { settlement: a.inferenceSettlement, account: user });
        const unanswered = await batch([
          { account: user, amount: 4n * OPEN },
          { account: bob, amount: 6n * OPEN },
        ]);
        const open = await disputeDebit(wallet(bob), {
          settlement: a.inferenceSettlement,
          batchId: unanswered.batchId,
          debit: unanswered.debitTree.proofsOf(bob)[0],
        });
        await revertsWith(
          resolveDispute(wallet(mallory), { settlement: a.inferenceSettlement, disputeId: open.disputeId }),
          "AnswerWindowOpen",
        );
        await advance(WINDOW);
        await resolveDispute(wallet(mallory), {
          settlement: a.inferenceSettlement,
          disputeId: open.disputeId,
        });
        assert.equal(
          (await getBatch(pub, { settlement: a.inferenceSettlement, batchId: unanswered.batchId })).status,
          3,
        );
        assert.equal(await earningsOf(pub, { settlement: a.inferenceSettlement, account: bob }), 50n * OPEN);
        const refunded = await refund(wallet(mallory), {
          settlement: a.inferenceSettlement,
          batchId: unanswered.batchId,
          debits: unanswered.debitTree.entries.map((_, i) => unanswered.debitTree.proof(i)),
        });
        assert.equal(refunded.amount, 10n * OPEN);
        assert.equal(await escrowOf(pub, { settlement: a.inferenceSettlement, account: bob }), escrowBefore);
        assert.equal(await escrowOf(pub, { settlement: a.inferenceSettlement, account: user }), userBefore);
        await revertsWith(
          refund(wallet(mallory), {
            settlement: a.inferenceSettlement,
            batchId: unanswered.batchId,
            debits: [unanswered.debitTree.proof(0)],
          }),
          "AlreadyRefunded",
        );
      });

      test("a proven challenge reverts the batch and slashes the operator; evidence requests must be answered", async () => {
        const split = await splitFee(pub, { settlement: a.inferenceSettlement, fee });
        const records = [
          { attribution: "0x0a" as Hex, payouts: [{ account: alice, amount: split.contributors / 2n }] },
          {
            attribution: "0x0b" as Hex,
            payouts: [{ account: bob, amount: split.contributors - split.contributors / 2n }],
          },
        ];
        const debits = [{ account: user, amount: fee }];
        const escrowBefore = await escrowOf(pub, { settlement: a.inferenceSettlement, account: user });
        const posted = await postBatch(wallet(operator), {
          settlement: a.inferenceSettlement,
          modelId,
          debits,
          records,
        });
        assert.equal(
          await escrowOf(pub, { settlement: a.inferenceSettlement, account: user }),
          escrowBefore - fee,
        );
        const record = posted.recordTree.proof(1);
        const asked = await requestEvidence(wallet(mallory), {
          settlement: a.inferenceSettlement,
          batchId: posted.batchId,
          record,
        });
        await revertsWith(
          answerEvidence(wallet(operator), {
            settlement: a.inferenceSettlement,
            disputeId: asked.disputeId,
            attribution: record.attribution,
            answer: "0xdead",
          }),
          "AnswerRejected",
        );
        await answerEvidence(wallet(operator), {
          settlement: a.inferenceSettlement,
          disputeId: asked.disputeId,
          attribution: record.attribution,
          answer: record.attribution,
        });
        await revertsWith(
          challenge(wallet(mallory), {
            settlement: a.inferenceSettlement,
            batchId: posted.batchId,
            record,
            evidence: "0x1234",
          }),
          "ChallengeRejected",
        );
        const evidence = keccak256(
          encodeAbiParameters([{ type: "string" }, { type: "bytes" }], ["fault", record.attribution]),
        );
        const won = await challenge(wallet(mallory), {
          settlement: a.inferenceSettlement,
          batchId: posted.batchId,
          record,
          evidence,
        });
        assert.equal(won.slashed, 100n * OPEN);
        assert.equal(won.reward, 50n * OPEN);
        const malloryBefore = await tokenBalance(pub, { token: a.token, account: mallory });
        await claimEarnings(wallet(mallory), { settlement: a.inferenceSettlement });
        assert.equal(
          await tokenBalance(pub, { token: a.token, account: mallory }),
          malloryBefore + won.reward,
        );
        await revertsWith(
          challenge(wallet(mallory), {
            settlement: a.inferenceSettlement,
            batchId: posted.batchId,
            record,
            evidence,
          }),
          "WrongBatchStatus",
        );
        await revertsWith(
          claim(wallet(alice), {
            settlement: a.inferenceSettlement,
            batchId: posted.batchId,
            claims: posted.recordTree.claimsOf(alice),
          }),
          "WrongBatchStatus",
        );
        await refund(wallet(mallory), {
          settlement: a.inferenceSettlement,
          batchId: posted.batchId,
          debits: posted.debitTree.proofsOf(user),
        });
        assert.equal(await escrowOf(pub, { settlement: a.inferenceSettlement, account: user }), escrowBefore);

        // after the window closes no challenge is accepted
        const late = await postBatch(wallet(operator), {
          settlement: a.inferenceSettlement,
          modelId,
          debits,
          records,
        });
        await advance(WINDOW);
        await revertsWith(
          challenge(wallet(mallory), {
            settlement: a.inferenceSettlement,
            batchId: late.batchId,
            record: late.recordTree.proof(0),
            evidence,
          }),
          "ChallengeWindowClosed",
        );
      });

      test("unbonding waits out the period; parameter changes are admin-only and the fee split must sum to 10000", async () => {
        const started = await unbond(wallet(delegator), {
          staking: a.staking,
          operator,
          amount: 100n * OPEN,
        });
        const pending = await unbondingOf(pub, { staking: a.staking, unbondingId: started.unbondingId });
        assert.deepEqual(pending, {
          account: delegator,
          operator,
          readyAt: started.readyAt,
          amount: started.amount,
        });
        await revertsWith(
          withdrawUnbonded(wallet(delegator), { staking: a.staking, unbondingId: started.unbondingId }),
          "UnbondingNotReady",
        );
        await revertsWith(
          withdrawUnbonded(wallet(mallory), { staking: a.staking, unbondingId: started.unbondingId }),
          "NotUnbondingOwner",
        );
        await adminCall(
          a.staking,
          encodeFunctionData({ abi: stakingAbi, functionName: "setUnbondingPeriod", args: [0n] }),
          "setUnbondingPeriod",
        );
        const quick = await unbond(wallet(delegator), { staking: a.staking, operator, amount: 50n * OPEN });
        const out = await withdrawUnbonded(wallet(delegator), {
          staking: a.staking,
          unbondingId: quick.unbondingId,
        });
        assert.equal(out.amount, quick.amount);
        await revertsWith(
          unbond(wallet(mallory), { staking: a.staking, operator, amount: 1n }),
          "NothingToUnbond",
        );
        const current = await currentParams(pub, { settlement: a.inferenceSettlement });
        const badSplit = {
          ...current,
          split: { platformBps: 5000, modelOwnerBps: 5000, stakersBps: 1, contributorsBps: 0 },
        };
        await revertsWith(
          setParams(wallet(admin), { settlement: a.inferenceSettlement, params: badSplit }),
          "InvalidFeeSplit",
        );
        await revertsWith(
          setParams(wallet(mallory), { settlement: a.inferenceSettlement, params: badSplit }),
          "AccessControlUnauthorizedAccount",
        );
      });
    });
  });
}
