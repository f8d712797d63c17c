import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { connect, tokenBalance } from "@openledger/sdk";
import type { Hex } from "viem";
import { DatanetError, DuplicateContentError, RateLimitError } from "../src/errors.ts";
import type { DatanetService } from "../src/service.ts";
import {
  accounts,
  signContribution,
  stageText,
  startTestChain,
  type TestChain,
  tempDir,
} from "./chain-helpers.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const TEXT =
  "Glaciers carve U-shaped valleys as they slide downhill, plucking boulders from the bedrock and grinding them into fine rock flour.";

describe("staging: duplicates of the pending queue, concurrent uploads, rate limits", () => {
  let chain: TestChain;
  let service: DatanetService;
  const [owner, , alice, bob, carol] = accounts;
  let datanetId: bigint;

  before(async () => {
    chain = await startTestChain();
    service = await chain.open(tempDir("datanet-staging-"), {
      limits: { maxContributionsPerWindow: 3 },
    });
    datanetId = (await service.createDatanet({ owner: owner.address, name: "Geology" })).id;
  });
  after(async () => {
    service?.close();
    await chain?.stop();
  });

  const stage = (who: (typeof accounts)[number], text: string) =>
    stageText(service, who, datanetId, text, "CC-BY-SA-4.0");

  test("a copy of a staged upload is refused and the staged upload stays intact", async () => {
    const first = await stage(alice, TEXT);
    await assert.rejects(
      stage(bob, TEXT),
      (e: unknown) => e instanceof DuplicateContentError && e.code === "exact_duplicate",
    );
    await assert.rejects(
      stage(bob, TEXT.replace("slide downhill", "creep downhill")),
      (e: unknown) => e instanceof DuplicateContentError && /a staged upload/.test(e.message),
    );
    assert.ok(await service.blobs.has(first.contentCid));
    const [row] = await service.submitStaged(alice.address, [first]);
    assert.equal(row.contributor, alice.address);
    assert.equal(row.contentState, "available");
    assert.equal(service.db.listStaged().length, 0);
    await assert.rejects(service.submitStaged(alice.address, [first]), /no staged upload/);
  });

  test("two concurrent uploads of the same content: exactly one is staged", async () => {
    const text =
      "Stalactites grow down from cave ceilings as dripping water leaves thin rings of calcite behind.";
    const results = await Promise.allSettled([stage(bob, text), stage(carol, text)]);
    assert.equal(results.filter((r) => r.status === "fulfilled").length, 1);
    const failed = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
    assert.ok(failed.reason instanceof DuplicateContentError);
    assert.equal(service.db.listStaged(datanetId).length, 1);
  });

  test("a contributor over the per-window limit is refused", async () => {
    const dave = accounts[5];
    const texts = [
      "Sandstone is made of sand grains cemented together by silica, calcite or iron oxide minerals.",
      "Shale splits into thin layers because its clay particles settle flat in quiet water over time.",
      "Obsidian is volcanic glass that cooled so fast that no crystals had time to grow inside it.",
      "Pumice is so full of gas bubbles that many pieces of it float on water for a long time.",
    ];
    for (const t of texts.slice(0, 3)) await stage(dave, t);
    await assert.rejects(
      stage(dave, texts[3]),
      (e: unknown) => e instanceof RateLimitError && /limit 3/.test(e.message),
    );
  });

  test("a Datanet with a contribution bond: the bond is approved and pulled on submission", async () => {
    const bonded = await service.createDatanet({ owner: owner.address, name: "Bonded", bond: 7n });
    const text = "Basalt columns form when a thick lava flow cools and cracks into hexagonal pillars.";
    const signature = await signContribution(service, bob, bonded.id, enc(text));
    const input = {
      datanetId: bonded.id,
      contributor: bob.address,
      signature,
      license: "MIT",
      format: "text" as const,
    };
    await assert.rejects(
      service.contribute({ ...input, content: enc(text) }),
      (e: unknown) => e instanceof DatanetError && e.code === "insufficient_balance",
    );
    const staged = service.db.listStaged(bonded.id);
    assert.equal(staged.length, 1, "the upload stays staged for a later submission");
    await chain.fund(bob.address, 100n);
    const [row] = await service.submitStaged(bob.address, [
      { datanetId: bonded.id, contentHash: staged[0].contentHash as Hex },
    ]);
    assert.equal(row.status, "pending");
    const { publicClient } = await connect(chain.rpcUrl);
    assert.equal(
      await tokenBalance(publicClient, { token: chain.addresses.token, account: bob.address }),
      93n,
    );
  });
});
