import type { Address } from "viem";
import { PaymentRequiredError } from "./errors.ts";

/**
 * Holds of payers' funds by in-flight requests. `reserve` checks and takes in one synchronous step,
 * so concurrent requests can never together reserve more than a payer's funds.
 */
export class Reservations {
  private readonly held = new Map<Address, bigint>();

  heldBy(payer: Address): bigint {
    return this.held.get(payer) ?? 0n;
  }

  /** Takes `amount` from `funds` (what the payer may still spend, before reservations) or throws 402. */
  reserve(payer: Address, amount: bigint, funds: bigint): Reservation {
    const available = funds - this.heldBy(payer);
    if (amount > available) throw new PaymentRequiredError(payer, amount, available > 0n ? available : 0n);
    this.held.set(payer, this.heldBy(payer) + amount);
    let released = false;
    return {
      payer,
      amount,
      release: () => {
        if (released) return;
        released = true;
        const left = this.heldBy(payer) - amount;
        if (left === 0n) this.held.delete(payer);
        else this.held.set(payer, left);
      },
    };
  }
}

export interface Reservation {
  payer: Address;
  amount: bigint;
  /** gives the hold back (idempotent); the actual charge is recorded separately */
  release(): void;
}
