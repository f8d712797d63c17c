// The project's one seeded PRNG (mulberry32 with a normal sampler) lives in @openledger/common; its
// subpath keeps the package's index (viem and the chain helpers, ~55 MB of heap) out of this process.
export { SeededRandom as Rng } from "@openledger/common/prng";
