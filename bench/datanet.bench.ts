// Datanet benchmark: ingestion throughput (stream to the blob store, verify, decode, chunk, hash,
// MinHash, exact and near-duplicate checks against a 50 MB accepted corpus, EIP-712 signature check)
// beside a plain "hash and write the file" baseline; snapshot build time and proof rate for 100k chunks.
// `npm run bench -- datanet`. DATANET_BENCH_CORPUS_MB=N changes the corpus size.
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { open } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { mulberry32 } from "@openledger/common";
import {
  type ContributionRow,
  contentHashOf,
  contributionTypedData,
  DatanetDb,
  type DatanetService,
  deriveContent,
  FileBlobStore,
  openDatanetService,
  SnapshotStore,
} from "@openledger/datanet";
import { devAccounts, startAnvil } from "@openledger/devnet";
import { chunkContentHash, verify } from "@openledger/merkle";
import { connect, deployProtocol } from "@openledger/sdk";
import { privateKeyToAccount } from "viem/accounts";

const rnd = mulberry32(20261127);
const LETTERS = "abcdefghijklmnopqrstuvwxyz";
const vocab: string[] = [];
while (vocab.length < 30_000) {
  let w = "";
  for (let k = 2 + Math.floor(rnd() * 8); k > 0; k--) w += LETTERS[Math.floor(rnd() * 26)];
  vocab.push(w);
}
/** Seeded prose: sentences of Zipf-ish words, paragraphs of a few sentences. */
function prose(bytes: number): string {
  const parts: string[] = [];
  let size = 0;
  while (size < bytes) {
    let sentence = "";
    for (let n = 6 + Math.floor(rnd() * 14); n > 0; n--) {
      sentence += `${vocab[Math.floor(vocab.length * rnd() ** 3)]} `;
    }
    const s = `${sentence.trim()}.${rnd() < 0.2 ? "\n\n" : " "}`;
    parts.push(s);
    size += s.length;
  }
  return parts.join("");
}

const MB = 1024 * 1024;
const fmt = (n: number, d = 1) => n.toFixed(d);

async function ingestion(): Promise<void> {
  const corpusMb = Number(process.env.DATANET_BENCH_CORPUS_MB ?? 50);
  const anvil = await startAnvil();
  const dir = mkdtempSync(join(tmpdir(), "datanet-bench-"));
  let service: DatanetService | undefined;
  try {
    const { walletClient, publicClient } = await connect(anvil.rpcUrl, devAccounts[0].privateKey);
    const { addresses } = await deployProtocol(walletClient!, publicClient, {
      deploymentsDir: join(dir, "deploy"),
    });
    service = await openDatanetService({
      dataDir: join(dir, "data"),
      rpcUrl: anvil.rpcUrl,
      registry: addresses.datanetRegistry,
      privateKeys: [devAccounts[0].privateKey],
    });
    const datanet = await service.createDatanet({ owner: devAccounts[0].address, name: "bench" });

    // The accepted corpus: 50 MB of seeded prose, chunked and MinHashed exactly as ingestion does,
    // loaded into the Datanet's near-duplicate index (the in-memory structure every upload is checked against).
    let t = performance.now();
    const corpus = prose(corpusMb * MB);
    const derived = deriveContent(
      new TextEncoder().encode(corpus),
      "text",
      {},
      service.maxChunkBytes,
      service.nearDup.hasher,
    );
    derived.chunks.forEach((c, i) => {
      if (c.minhash)
        service!.nearDup.add(datanet.id, BigInt(1_000_000 + Math.floor(i / 16)), i % 16, c.minhash);
    });
    console.log(
      `accepted corpus: ${corpusMb} MB, ${derived.chunks.length} chunks indexed in ${fmt((performance.now() - t) / 1000)} s`,
    );

    // Uploads: 200 documents of ~25 KB from 1 contributor, each signed, streamed, checked and staged.
    const alice = privateKeyToAccount(devAccounts[1].privateKey);
    const docs = Array.from({ length: 200 }, () => new TextEncoder().encode(prose(25 * 1024)));
    const domain = { chainId: service.registry.chainId, verifyingContract: service.registry.address };
    const signatures = await Promise.all(
      docs.map((d) =>
        alice.signTypedData(contributionTypedData(domain, BigInt(datanet.id), contentHashOf(d, "text"))),
      ),
    );
    const total = docs.reduce((s, d) => s + d.length, 0);
    t = performance.now();
    for (const [i, d] of docs.entries()) {
      await service.stage({
        datanetId: datanet.id,
        contributor: alice.address,
        signature: signatures[i],
        license: "CC0-1.0",
        format: "text",
        content: d,
      });
    }
    const ingestS = (performance.now() - t) / 1000;

    // Baseline: what a plain uploader does (sha-256 and write the file durably), same bytes.
    const plain = new FileBlobStore(join(dir, "plain"));
    t = performance.now();
    for (const d of docs) {
      createHash("sha256").update(d).digest();
      const f = await open(join(plain.root, `${Math.random()}`), "w");
      await f.write(d);
      await f.sync();
      await f.close();
    }
    const plainS = (performance.now() - t) / 1000;
    console.log(
      `ingestion with dedup vs ${corpusMb} MB: ${fmt(total / MB / ingestS, 2)} MB/s (${docs.length} uploads, ${fmt(total / MB)} MB, ${fmt((ingestS / docs.length) * 1000)} ms each)`,
    );
    console.log(
      `baseline hash+write+fsync:        ${fmt(total / MB / plainS, 2)} MB/s  -> ingestion costs ${fmt(plainS ? ingestS / plainS : 0)}x the baseline`,
    );
  } finally {
    service?.close();
    await anvil.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function snapshots(): void {
  const dir = mkdtempSync(join(tmpdir(), "datanet-bench-snap-"));
  const db = new DatanetDb(join(dir, "index.sqlite"));
  try {
    const contributions = 1000;
    const perContribution = 100;
    db.upsertDatanet({
      id: 1n,
      owner: "0x0",
      name: "b",
      description: "",
      metadataUri: "",
      licensePrice: "0",
      createdBlock: 0,
    });
    const rows: ContributionRow[] = [];
    db.transaction(() => {
      for (let n = 1; n <= contributions; n++) {
        const id = BigInt(n);
        const row: ContributionRow = {
          id,
          datanetId: 1n,
          contributor: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
          cid: "",
          metaCid: "",
          contentHash: "0x",
          format: "text",
          license: "CC0-1.0",
          source: "",
          signature: "",
          byteSize: 0,
          chunkCount: perContribution,
          status: "accepted",
          contentState: "available",
          block: 0,
          txHash: "0x",
        };
        rows.push(row);
        const chunks = Array.from({ length: perContribution }, (_, idx) => {
          const text = `chunk ${id}/${idx} ${vocab[(n * 131 + idx) % vocab.length]}`;
          return {
            contributionId: id,
            idx,
            byteStart: 0,
            byteEnd: 0,
            contentHash: chunkContentHash(text),
            text,
            minhash: null,
          };
        });
        db.insertContribution(row, chunks);
      }
    });
    const store = new SnapshotStore(db, new FileBlobStore(join(dir, "blobs")));
    let t = performance.now();
    const built = store.build(1n, rows);
    const buildS = (performance.now() - t) / 1000;
    const n = built.manifest.leafCount;
    t = performance.now();
    let check = 0;
    for (let i = 0; i < n; i++) {
      const proof = built.tree.proof(i);
      if (i % 997 === 0 && verify(proof, built.manifest.root, built.tree.leaf(i))) check++;
    }
    const proofS = (performance.now() - t) / 1000;
    console.log(`snapshot build (${n} chunks: SQLite reads, leaves, tree): ${fmt(buildS, 2)} s`);
    console.log(`proof generation: ${fmt(n / proofS, 0)} proofs/s (${n} proofs, ${check} spot-verified)`);
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await ingestion();
snapshots();
