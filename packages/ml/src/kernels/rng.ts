// The project's one seeded PRNG (mulberry32 with a normal sampler) lives in @openledger/common.
export { SeededRandom as Rng } from "@openledger/common";
