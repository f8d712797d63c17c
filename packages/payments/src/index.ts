export * from "./api-keys.ts";
export * from "./db.ts";
export * from "./errors.ts";
export * from "./gate.ts";
export * from "./price.ts";
export * from "./receipt.ts";
export * from "./reservations.ts";
export * from "./routes.ts";
