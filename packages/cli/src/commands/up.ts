import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type Command, InvalidArgumentError } from "commander";
import { commandContext } from "../context.ts";
import { parseCorsOrigins } from "../openapi.ts";
import {
  collect,
  parseBlockTime,
  parseListenPort,
  parsePrivateKey,
  parseSeconds,
  resolveDevSigning,
} from "../options.ts";
import {
  checkFlaggedBases,
  parseBaseName,
  parseRemoteWorker,
  type RemoteWorkerOption,
  resolveBackends,
} from "../serving-options.ts";

interface UpOptions {
  datadir: string;
  port: number;
  apiPort: number;
  host: string;
  blockTime: number;
  automine: boolean;
  deployments: string;
  seed: boolean;
  demoAdapters: boolean;
  perDomain: number;
  domains?: string;
  free: boolean;
  operatorKey?: `0x${string}`;
  challengeWindow: number;
  batchSize: number;
  batchAge: number;
  corsOrigin?: string[];
  devSigning?: boolean;
  llamacppBase?: string[];
  remoteBase?: string[];
  remoteWorker?: RemoteWorkerOption[];
}

function parseCount(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 10_000) throw new InvalidArgumentError("expected 1..10000");
  return n;
}

export function registerUpCommand(program: Command): void {
  program
    .command("up")
    .description(
      "run the local stack: the L2 node (protocol in genesis), the Datanet service seeded with the WordNet demo on a fresh data dir, and the HTTP API",
    )
    .option("--datadir <dir>", "data directory (chain/, datanet/, attribution/)", ".openledger")
    .option("-p, --port <port>", "JSON-RPC port (HTTP and WebSocket)", parseListenPort, 8545)
    .option("--api-port <port>", "HTTP API port (Datanets, attribution)", parseListenPort, 8080)
    .option("--host <host>", "interface to listen on", "127.0.0.1")
    .option(
      "--cors-origin <origins>",
      "browser origins the API allows: * or a comma-separated list (default: pages on this machine)",
      parseCorsOrigins,
    )
    .option(
      "--dev-signing",
      "the dev accounts sign for HTTP callers on this machine (default on a loopback --host)",
    )
    .option("--no-dev-signing", "the API never signs: callers get unsigned transactions for their wallets")
    .option("--block-time <seconds>", "seconds between blocks", parseBlockTime, 1)
    .option("--automine", "mine a block for every transaction as it arrives", false)
    .option("--deployments <dir>", "folder for deployments/<chainId>.json", "deployments")
    .option("--no-seed", "do not seed the WordNet demo Datanets")
    .option("--no-demo-adapters", "do not fine-tune the demo adapters (noun.animal, noun.food, verb.motion)")
    .option("--per-domain <n>", "WordNet synsets per lexicographer domain when seeding", parseCount, 60)
    .option(
      "--domains <list>",
      "seed only these lexicographer domains, comma-separated (e.g. noun.food,verb.motion)",
    )
    .option("--free", "serve every model free: no API keys, receipts or settlement", false)
    .option("--operator-key <hex>", "key of the inference operator (default: dev account 9)", parsePrivateKey)
    .option(
      "--challenge-window <seconds>",
      "seconds a settlement batch stays challengeable (set on a chain with no batch yet)",
      parseSeconds,
      30,
    )
    .option(
      "--batch-size <n>",
      "a model's settlement batch closes at this many paid answers",
      parseCount,
      256,
    )
    .option("--batch-age <seconds>", "... or once its oldest answer is this old", parseSeconds, 15)
    .option(
      "--llamacpp-base <name>",
      "serve this base model (name or file hash) and its adapters with llama.cpp instead of the embedded engine; repeatable",
      collect(parseBaseName),
    )
    .option(
      "--remote-base <name>",
      "send this base model's requests (name or file hash) to the --remote-worker engines; repeatable",
      collect(parseBaseName),
    )
    .option(
      "--remote-worker <[kind=]url>",
      "an OpenAI-compatible engine on another machine: openlora= (default), vllm= or lorax= then its /v1 URL; repeatable",
      collect(parseRemoteWorker),
    )
    .action(async (_opts, command: Command) => {
      const { options, log, print } = commandContext<UpOptions>(command);
      const devSigning = resolveDevSigning(options.devSigning, options.host); // before anything starts
      const backends = resolveBackends(options);
      const { privateKeyToAccount } = await import("viem/accounts");
      const { readDeployment } = await import("@openledger/sdk");
      const { devAccounts } = await import("@openledger/devnet");
      const { openDatanetService } = await import("@openledger/datanet");
      const { startL2Node } = await import("../genesis.ts");
      const { SnapshotIndexer } = await import("../attribution-indexes.ts");
      const { startApiServer } = await import("../api-server.ts");
      const { seedWordnetDemo } = await import("./datanet.ts");

      const chain = await startL2Node({
        datadir: join(options.datadir, "chain"),
        port: options.port,
        host: options.host,
        blockTime: options.blockTime,
        automine: options.automine,
        chainId: 1337n,
        deployments: options.deployments,
        predeploy: true,
        log,
      });
      const closers: (() => Promise<unknown>)[] = [() => chain.close()];
      const closeAll = async () => {
        for (const close of closers.reverse()) await close().catch(() => undefined);
      };
      try {
        const chainId = Number(chain.node.chainId);
        const deployment = readDeployment(options.deployments, chainId);
        const registry = deployment?.addresses.datanetRegistry;
        if (!registry) {
          throw new Error(
            `${options.deployments}/${chainId}.json has no DatanetRegistry: this data dir's chain was created without the protocol; start with a new --datadir`,
          );
        }
        log.info("L2 node running", { rpc: chain.url, chainId, head: Number(chain.node.head.header.number) });
        const datanets = await openDatanetService({
          dataDir: join(options.datadir, "datanet"),
          rpcUrl: chain.url,
          registry,
          privateKeys: devAccounts.map((a) => a.privateKey),
        });
        closers.push(async () => datanets.close());
        if (options.seed) {
          log.info("seeding the WordNet demo Datanets (first run only)");
          const summary = await seedWordnetDemo(datanets, privateKeyToAccount(devAccounts[0].privateKey), {
            perDomain: options.perDomain,
            domains: options.domains?.split(",").map((d) => d.trim()),
          });
          log.info(summary);
        }
        // Every Datanet's latest snapshot is indexed now and, while running, as soon as it is published.
        const indexer = new SnapshotIndexer(datanets, join(options.datadir, "attribution"), {
          onError: (err, snapshotId) =>
            log.warn("snapshot not indexed yet", { snapshotId, error: (err as Error).message }),
          onIndexed: (file) => log.debug("snapshot indexed for attribution", { name: file.name }),
        });
        const indexes = await indexer.refresh();
        indexer.start();
        closers.push(() => indexer.close());
        const { openOpenLora } = await import("@openledger/openlora");
        const openlora = await openOpenLora({
          rpcUrl: chain.url,
          modelRegistry: deployment.addresses.modelRegistry!,
          dataDir: options.datadir,
          ...backends,
        });
        closers.push(() => openlora.close());
        let payable: import("../payable-inference.ts").PayableInference | undefined;
        if (!options.free) {
          const { openPayableInference } = await import("../payable-inference.ts");
          const { SnapshotSpanIndexes } = await import("../snapshot-span-indexes.ts");
          const spans = new SnapshotSpanIndexes(datanets, join(options.datadir, "attribution"));
          closers.push(() => spans.close());
          const a = deployment.addresses;
          payable = await openPayableInference({
            dataDir: join(options.datadir, "payments"),
            blobsDir: join(options.datadir, "blobs"),
            rpcUrl: chain.url,
            addresses: {
              inferenceSettlement: a.inferenceSettlement!,
              staking: a.staking!,
              token: a.token!,
              datanetRegistry: registry,
              modelRegistry: a.modelRegistry!,
            },
            operatorKey: options.operatorKey ?? devAccounts[9].privateKey,
            adminKey: devAccounts[0].privateKey,
            challengeWindow: options.challengeWindow,
            batchSize: options.batchSize,
            batchAge: options.batchAge,
            spanIndexes: (ids) => spans.get(ids),
            datanets,
            openlora,
            log,
          });
          closers.push(() => payable!.close());
          openlora.setAdmission(payable.admission);
        }
        const factoryPkg = await import("@openledger/factory");
        const factory = await factoryPkg.openStackFactory({
          dataDir: options.datadir,
          rpcUrl: chain.url,
          datanets,
          modelRegistry: deployment.addresses.modelRegistry!,
          datanetRegistry: registry,
          privateKeys: devAccounts.map((a) => a.privateKey),
        });
        closers.push(() => factory.close());
        // the backend flags name bases by name or hash: compare them as registered bases (only when given:
        // listing every published model is chain and blob reads a plain start does not need)
        if (backends.llamaCpp || backends.remote) {
          const bases = (await factoryPkg.listPublishedModels(factory.registry))
            .filter((m) => !m.adapter)
            .map((m) => ({ name: m.name, hash: m.baseModel.hash }));
          // the demo adapters register the demo base in the background, after this: count it already
          if (options.demoAdapters && !bases.some((b) => b.name === "demo-base"))
            bases.push({
              name: "demo-base",
              hash: factoryPkg.sha256Hex(readFileSync(factoryPkg.DEMO_BASE_GGUF)),
            });
          for (const { flag, value } of checkFlaggedBases(backends, bases))
            log.warn(`${flag} ${value} matches no registered base model yet`);
        }
        const api = await startApiServer({
          host: options.host,
          port: options.apiPort,
          datanets,
          openlora,
          factory,
          snapshotIndexes: () => indexer.served(),
          ...(payable ? { payments: payable.routes } : {}),
          corsOrigins: options.corsOrigin,
          devSigning,
        });
        closers.push(() => api.app.close());
        payable?.start();

        print(`RPC       ${chain.url}`);
        print(`WS        ${chain.wsUrl}`);
        print(
          `API       ${api.url}  (GET /v1/datanets, POST /v1/attribution, GET /v1/models, POST /v1/chat/completions)`,
        );
        print(`chain id  ${chainId}`);
        print(
          payable
            ? `Payments  operator ${payable.operator}; models priced above 0 take an API key (openledger escrow deposit, keys create), models at 0 are free`
            : "Payments  off (--free): every model is served free",
        );
        print("");
        print("Contracts");
        for (const [role, address] of Object.entries(deployment.addresses))
          print(`  ${role.padEnd(20)} ${address}`);
        print("");
        print(
          `Datanets  ${datanets.listDatanets().length}, snapshots indexed for attribution: ${indexes.length}`,
        );
        if (indexes[0]) {
          print(
            `  try: curl -s ${api.url}/v1/attribution -H 'content-type: application/json' -d '{"text":"..."}'   (every snapshot; GET /v1/attribution/snapshots lists them)`,
          );
        }
        print("");
        print("Dev accounts (test mnemonic; never use these keys on a real chain)");
        for (const a of devAccounts) print(`  ${a.address}  ${a.privateKey}`);
        print("");
        print("Ready. Press Ctrl-C to stop.");
        if (options.demoAdapters) {
          // fine-tuned in a worker process, so serving stays responsive; published as demo-<domain>
          factoryPkg
            .startDemoAdapters(factory, api.url, { log: (m, f) => log.info(m, f) })
            .then((ids) => factoryPkg.waitForJobs(factory, ids, (m, f) => log.info(m, f)))
            .catch((err) => log.warn("demo adapters not trained", { error: (err as Error).message }));
        } else factory.startLocalWorkers(1, api.url, { log: (l) => log.info(l) });
        const signal = await new Promise<NodeJS.Signals>((resolve) => {
          process.once("SIGINT", () => resolve("SIGINT"));
          process.once("SIGTERM", () => resolve("SIGTERM"));
        });
        log.info("stopping", { signal });
      } finally {
        await closeAll();
      }
      log.info("stopped");
    });
}
