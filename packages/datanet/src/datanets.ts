import type { CreateDatanetParams } from "@openledger/sdk";
import type { Address } from "viem";
import { firstControl } from "./controls.ts";
import { InvalidInputError } from "./errors.ts";
import { validateAddress } from "./ingest.ts";
import { utf8 } from "./text.ts";

export interface CreateDatanetInput {
  owner: Address;
  name: string;
  description?: string;
  licensePrice?: bigint;
  ownerBps?: number;
  bond?: bigint;
  curators?: Address[];
}

/** Longest Datanet name, in characters, and description, in UTF-8 bytes. */
export const MAX_NAME_CHARS = 200;
export const MAX_DESCRIPTION_BYTES = 4096;

function describeControl(text: string, at: number): string {
  return `U+${text.charCodeAt(at).toString(16).toUpperCase().padStart(4, "0")} at position ${at}`;
}

/** The checked chain arguments of a new Datanet and its metadata blob (whose CID becomes the URI). */
export function datanetParams(input: CreateDatanetInput): {
  owner: Address;
  meta: Uint8Array;
  params: Omit<CreateDatanetParams, "registry" | "metadataURI">;
} {
  const owner = validateAddress(input.owner, "owner");
  validateDatanetText(input.name, input.description);
  const ownerBps = input.ownerBps ?? 2000;
  if (!Number.isInteger(ownerBps) || ownerBps < 0 || ownerBps > 10_000) {
    throw new InvalidInputError(
      "invalid_owner_bps",
      `ownerBps must be an integer in [0, 10000], got ${ownerBps}`,
    );
  }
  const curators = (input.curators ?? []).map((c) => validateAddress(c, "curator"));
  const meta = utf8.encode(
    JSON.stringify({
      kind: "openledger.datanet/1",
      name: input.name.trim(),
      description: input.description ?? "",
    }),
  );
  return {
    owner,
    meta,
    params: { licensePrice: input.licensePrice ?? 0n, ownerBps, bond: input.bond ?? 0n, curators },
  };
}

/** Names and descriptions are printed by CLIs and web pages: plain text of bounded size only. */
function validateDatanetText(name: unknown, description: unknown): void {
  if (typeof name !== "string" || name.trim() === "" || name.length > MAX_NAME_CHARS) {
    throw new InvalidInputError(
      "invalid_name",
      `a Datanet needs a name of 1 to ${MAX_NAME_CHARS} characters`,
    );
  }
  const inName = firstControl(name);
  if (inName >= 0) {
    throw new InvalidInputError(
      "invalid_name",
      `a Datanet name must not contain control characters (terminal escapes, newlines); found ${describeControl(name, inName)}`,
    );
  }
  if (description === undefined) return;
  if (typeof description !== "string") {
    throw new InvalidInputError("invalid_description", "a Datanet description must be a string");
  }
  const bytes = utf8.encode(description).length;
  if (bytes > MAX_DESCRIPTION_BYTES) {
    throw new InvalidInputError(
      "description_too_long",
      `a Datanet description is at most ${MAX_DESCRIPTION_BYTES} bytes of UTF-8, got ${bytes}; link to a longer text instead`,
    );
  }
  const inDescription = firstControl(description, true);
  if (inDescription >= 0) {
    throw new InvalidInputError(
      "invalid_description",
      `a Datanet description must not contain control characters other than tab and newline (terminal escapes); found ${describeControl(description, inDescription)}`,
    );
  }
}
