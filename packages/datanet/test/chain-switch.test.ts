import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { accounts, startTestChain, tempDir } from "./chain-helpers.ts";

describe("the index follows the chain it is pointed at", () => {
  test("a fresh chain at the same registry address resets the mirror instead of showing stale state", async () => {
    const dataDir = tempDir("datanet-switch-");
    const first = await startTestChain();
    let service = await first.open(dataDir);
    try {
      await service.createDatanet({ owner: accounts[0].address, name: "Old chain" });
      await service.createDatanet({ owner: accounts[0].address, name: "Old chain 2" });
    } finally {
      service.close();
      await first.stop();
    }
    const second = await startTestChain();
    try {
      assert.equal(second.addresses.datanetRegistry, first.addresses.datanetRegistry);
      service = await second.open(dataDir);
      assert.deepEqual(service.listDatanets(), []);
      const d = await service.createDatanet({ owner: accounts[0].address, name: "New chain" });
      assert.equal(d.id, 1n);
      assert.deepEqual(
        service.listDatanets().map((x) => x.name),
        ["New chain"],
      );
    } finally {
      service.close();
      await second.stop();
    }
  });
});
