export * from "./admission.ts";
export * from "./facilitator.ts";
export * from "./payload.ts";
export * from "./routes.ts";
export * from "./signer.ts";
export * from "./terms.ts";
