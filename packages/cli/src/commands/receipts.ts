import type { Command } from "commander";
import type { Address } from "viem";
import { commandContext } from "../context.ts";
import { CliError } from "../errors.ts";
import { parseAddress } from "../options.ts";

interface ReceiptsVerifyOptions {
  operator?: Address;
  json: boolean;
}

export function registerReceiptsCommand(program: Command): void {
  const receipts = program
    .command("receipts")
    .description("usage receipts the operator signed for paid answers");
  receipts
    .command("verify")
    .description(
      "check a usage receipt (the openledger-receipt header decoded, the 'openledger.receipt' field, or GET /v1/receipts/:id saved as JSON)",
    )
    .argument("<file>", "the receipt as JSON, or the header's base64url value")
    .option("--operator <address>", "require this operator's signature", parseAddress)
    .option("--json", "print JSON", false)
    .action(async (file: string, _opts, command: Command) => {
      const { options, print } = commandContext<ReceiptsVerifyOptions>(command);
      const { readFileSync } = await import("node:fs");
      const { decodeReceiptHeader, verifyReceipt, InvalidReceiptError } = await import(
        "@openledger/payments"
      );
      const text = readFileSync(file, "utf8").trim();
      let r: Awaited<ReturnType<typeof verifyReceipt>>;
      try {
        const json = text.startsWith("{") ? JSON.parse(text) : decodeReceiptHeader(text);
        // an answer's whole `openledger` field is accepted too
        r = await verifyReceipt(json.receipt?.signature ? json.receipt : json, {
          ...(options.operator ? { operator: options.operator } : {}),
        });
      } catch (err) {
        if (err instanceof InvalidReceiptError || err instanceof SyntaxError)
          throw new CliError(`${file}: invalid receipt: ${err.message}`);
        throw err;
      }
      if (options.json) {
        print(JSON.stringify({ ...r, modelId: r.modelId.toString(), fee: r.fee.toString(), valid: true }));
        return;
      }
      print(`valid receipt signed by operator ${r.operator}`);
      print(`  payer ${r.payer}, model ${r.modelId} v${r.modelVersion}`);
      print(`  ${r.promptTokens} prompt + ${r.completionTokens} completion tokens, fee ${r.fee} wei`);
      print(`  request ${r.requestId}, attribution ${r.attribution}`);
    });
}
