import { paramsBlock } from "@ethereumjs/block";
import { Common, type CustomCrypto } from "@ethereumjs/common";
import { paramsTx } from "@ethereumjs/tx";

/** The default chain id: 1337 (viem's `localhost` chain, wallets' "Localhost 8545"); anvil keeps 31337. */
export const DEFAULT_CHAIN_ID = 1337n;
/** The hardfork the node runs from genesis: the latest one @ethereumjs 10.1 marks final. */
export const HARDFORK = "osaka";
export const DEFAULT_BLOCK_GAS_LIMIT = 30_000_000n;
export const INITIAL_BASE_FEE = 1_000_000_000n;

const FORKS = [
  "chainstart",
  "homestead",
  "dao",
  "tangerineWhistle",
  "spuriousDragon",
  "byzantium",
  "constantinople",
  "petersburg",
  "istanbul",
  "muirGlacier",
  "berlin",
  "london",
  "arrowGlacier",
  "grayGlacier",
  "paris",
  "shanghai",
  "cancun",
  "prague",
  "osaka",
];

/** An @ethereumjs Common for the OpenLedger L2: proof of stake, every fork up to Osaka active at block 0. */
export function createChainCommon(chainId: bigint, customCrypto?: CustomCrypto): Common {
  return new Common({
    chain: {
      name: "openledger",
      chainId: Number(chainId),
      defaultHardfork: HARDFORK,
      consensus: { type: "pos", algorithm: "casper" },
      genesis: {
        gasLimit: Number(DEFAULT_BLOCK_GAS_LIMIT),
        difficulty: 0,
        nonce: "0x0000000000000000",
        extraData: "0x",
      },
      hardforks: FORKS.map((name) => ({ name, block: 0 })),
      bootstrapNodes: [],
    },
    hardfork: HARDFORK,
    customCrypto,
  });
}

/**
 * @ethereumjs copies its Common and rebuilds the parameter cache in every transaction and header
 * constructor, which costs milliseconds per transaction. This returns a Common with the tx and block
 * parameters merged once whose copy() is itself, for constructing transactions and blocks only.
 */
export function createSharedCommon(base: Common): Common {
  const shared = base.copy();
  shared.updateParams(paramsTx);
  shared.updateParams(paramsBlock);
  const merged = new Set<unknown>([paramsTx, paramsBlock]);
  const update = shared.updateParams.bind(shared);
  shared.copy = () => shared;
  // isActivatedEIP scans an array of ~100 EIPs and runs for nearly every opcode: answer from a Set,
  // rebuilt whenever @ethereumjs replaces that array (setEIPs, setHardfork).
  const internals = shared as unknown as { _activatedEIPsCache: number[] };
  let source = internals._activatedEIPsCache;
  let active = new Set(source);
  shared.isActivatedEIP = (eip: number) => {
    if (internals._activatedEIPsCache !== source) {
      source = internals._activatedEIPsCache;
      active = new Set(source);
    }
    return active.has(eip);
  };
  shared.updateParams = (params) => {
    if (!merged.has(params)) {
      merged.add(params);
      update(params);
    }
    return shared;
  };
  return shared;
}
