import { PayloadTooLargeError, RateLimitError } from "./errors.ts";

export interface ContributionLimits {
  /** Largest single upload, in bytes. */
  maxUploadBytes: number;
  /** Per contributor, within `windowMs`. */
  maxContributionsPerWindow: number;
  maxBytesPerWindow: number;
  windowMs: number;
}

export const DEFAULT_LIMITS: ContributionLimits = {
  maxUploadBytes: 16 * 1024 * 1024,
  maxContributionsPerWindow: 10_000,
  maxBytesPerWindow: 256 * 1024 * 1024,
  windowMs: 60 * 60 * 1000,
};

/** Sliding-window limits per contributor address (in memory: they reset when the service restarts). */
export class RateLimiter {
  readonly limits: ContributionLimits;
  private readonly now: () => number;
  private readonly history = new Map<string, { at: number; bytes: number }[]>();

  constructor(limits: ContributionLimits, now: () => number = Date.now) {
    this.limits = limits;
    this.now = now;
  }

  private recent(contributor: string): { at: number; bytes: number }[] {
    const key = contributor.toLowerCase();
    const since = this.now() - this.limits.windowMs;
    const kept = (this.history.get(key) ?? []).filter((e) => e.at > since);
    this.history.set(key, kept);
    return kept;
  }

  /** Throws when accepting `bytes` more from `contributor` would break a limit. */
  check(contributor: string, bytes: number): void {
    if (bytes > this.limits.maxUploadBytes) throw new PayloadTooLargeError(this.limits.maxUploadBytes);
    const recent = this.recent(contributor);
    if (recent.length + 1 > this.limits.maxContributionsPerWindow) {
      throw new RateLimitError(
        `${contributor} sent ${recent.length} contributions in the last ${this.limits.windowMs / 1000}s (limit ${this.limits.maxContributionsPerWindow}); try again later`,
        { contributor, limit: this.limits.maxContributionsPerWindow },
      );
    }
    const used = recent.reduce((s, e) => s + e.bytes, 0);
    if (used + bytes > this.limits.maxBytesPerWindow) {
      throw new RateLimitError(
        `${contributor} would exceed ${this.limits.maxBytesPerWindow} bytes per ${this.limits.windowMs / 1000}s (used ${used}); try again later`,
        { contributor, limit: this.limits.maxBytesPerWindow },
      );
    }
  }

  record(contributor: string, bytes: number): void {
    this.recent(contributor).push({ at: this.now(), bytes });
  }
}
