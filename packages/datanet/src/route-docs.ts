// Route schemas of the Datanet HTTP API, for its OpenAPI description (what `openledger up` serves at
// /docs). The handlers check every input themselves and answer with specific error codes, so these
// schemas describe the routes and are not used to validate requests (see `datanetRoutes`).

const TAGS = ["datanets"];
const id = (what: string) => ({ type: "string", pattern: "^[1-9][0-9]*$", description: what });
const address = { type: "string", pattern: "^0x[0-9a-fA-F]{40}$" };
const hash = { type: "string", pattern: "^0x[0-9a-fA-F]{64}$" };
const decimal = { type: "string", pattern: "^[0-9]+$", description: "an integer, in decimal digits" };
const page = {
  limit: { type: "string", description: "page size, 1..1000 (default 100)" },
  after: { type: "string", description: "the `next_after` of the previous page" },
};
const params = (...names: [string, object][]) => ({
  type: "object",
  required: names.map(([n]) => n),
  properties: Object.fromEntries(names),
});
const datanetParams = params(["id", id("Datanet id")]);
const snapshotParams = params(["id", id("snapshot id")]);
const jsonBody = (properties: Record<string, object>, required: string[]) => ({
  type: "object",
  required,
  properties,
});

const WHO_SIGNS =
  " Outside dev mode (or for a caller not on loopback) the answer is 202 with the unsigned transactions for the caller's wallet.";

export const routeDocs = {
  listDatanets: {
    tags: TAGS,
    summary: "List Datanets (paginated: data, has_more, next_after)",
    querystring: { type: "object", properties: page },
  },
  createDatanet: {
    tags: TAGS,
    summary: "Create a Datanet",
    description: `Registers a Datanet on-chain.${WHO_SIGNS}`,
    body: jsonBody(
      {
        owner: address,
        name: { type: "string", description: "no control characters" },
        description: { type: "string", description: "at most 4096 bytes" },
        licensePrice: decimal,
        ownerBps: { type: "integer", minimum: 0, maximum: 10000 },
        bond: decimal,
        curators: { type: "array", items: address },
      },
      ["owner", "name"],
    ),
  },
  getDatanet: { tags: TAGS, summary: "A Datanet with its snapshots", params: datanetParams },
  listContributions: {
    tags: TAGS,
    summary: "A Datanet's contributions (paginated)",
    params: datanetParams,
    querystring: {
      type: "object",
      properties: { status: { type: "string", enum: ["pending", "accepted", "rejected"] }, ...page },
    },
  },
  uploadContribution: {
    tags: TAGS,
    summary: "Upload a contribution (multipart/form-data)",
    description:
      "Fields `contributor`, `signature` (EIP-712 Contribution(datanetId, contentHash)), `license`, and optionally `contentHash`, `source`, `format`, `field`, `column`, `submit`, sent before one file part. With `contentHash` the signature is checked before the file is read. 201 submitted, or 202 staged with the transactions that submit it.",
    consumes: ["multipart/form-data"],
    params: datanetParams,
  },
  listStaged: {
    tags: TAGS,
    summary: "Staged uploads with their owner and expiry",
    params: datanetParams,
    querystring: { type: "object", properties: { contributor: address } },
  },
  submitStaged: {
    tags: TAGS,
    summary: "Submit staged uploads on-chain",
    description: `Sends submitContributions from the contributor's account.${WHO_SIGNS}`,
    params: datanetParams,
    body: jsonBody({ contributor: address, contentHashes: { type: "array", items: hash } }, [
      "contributor",
      "contentHashes",
    ]),
  },
  cancelStaged: {
    tags: TAGS,
    summary: "Cancel a staged upload (its owner's EIP-712 CancelStaged signature)",
    params: params(["id", id("Datanet id")], ["hash", hash]),
    body: jsonBody({ signature: { type: "string" } }, ["signature"]),
  },
  getContribution: {
    tags: TAGS,
    summary: "A contribution (with its chunks given ?chunks=true)",
    params: params(["id", id("contribution id")]),
    querystring: { type: "object", properties: { chunks: { type: "string", enum: ["true", "false"] } } },
  },
  curate: {
    tags: TAGS,
    summary: "Accept or reject contributions of this Datanet",
    description: `Every contribution must belong to Datanet :id.${WHO_SIGNS}`,
    params: datanetParams,
    body: jsonBody(
      {
        curator: address,
        decisions: {
          type: "array",
          items: {
            type: "object",
            required: ["contributionId", "accept"],
            properties: { contributionId: decimal, accept: { type: "boolean" } },
          },
        },
      },
      ["curator", "decisions"],
    ),
  },
  listSnapshots: { tags: TAGS, summary: "A Datanet's snapshots", params: datanetParams },
  createSnapshot: {
    tags: TAGS,
    summary: "Publish a snapshot of the accepted contributions",
    description: `Sent by the Datanet's owner.${WHO_SIGNS}`,
    params: datanetParams,
    body: jsonBody({ owner: address }, ["owner"]),
  },
  getSnapshot: { tags: TAGS, summary: "A snapshot with its manifest", params: snapshotParams },
  proof: {
    tags: TAGS,
    summary: "Merkle inclusion proof of a chunk (?leaf=N, or ?contribution=ID&chunk=N)",
    params: snapshotParams,
    querystring: {
      type: "object",
      properties: { leaf: decimal, contribution: decimal, chunk: decimal },
    },
  },
  royaltyProof: {
    tags: TAGS,
    summary: "A contributor's royalty weight and proof (for claimRoyalty)",
    params: params(["id", id("snapshot id")], ["address", address]),
  },
  buyLicense: {
    tags: TAGS,
    summary: "Buy a licence for a snapshot",
    description: `Approves the token if needed, then buyLicense.${WHO_SIGNS}`,
    params: snapshotParams,
    body: jsonBody({ buyer: address, licensee: address }, ["buyer"]),
  },
  hasLicense: {
    tags: TAGS,
    summary: "Whether an account holds a licence for a snapshot (404 for an unknown snapshot)",
    params: params(["id", id("snapshot id")], ["address", address]),
  },
} as const;
