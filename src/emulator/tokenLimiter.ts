const WINDOW_IN_MS = 60_000;
const MAX_COUNTERS = 10_000;

/** The outcome of the inbound check of a token limit. */
export type TokenLimitCheck =
  | { readonly allowed: true; readonly remainingTokens: number }
  | { readonly allowed: false; readonly remainingTokens: number; readonly retryAfterInSeconds: number };

interface Counter {
  windowStart: number;
  consumed: number;
}

/**
 * Token counters of the emulated service for `azure-openai-token-limit` / `llm-token-limit`. The policy
 * reference says "for each key value, a single counter is used for all scopes at which the policy is
 * configured", so counters are keyed by the key value alone and shared by every API; each API compares the
 * shared count with its own `tokens-per-minute`.
 *
 * Approximation (the exact window is undocumented): a fixed 60 s window that starts with the first request
 * of a key after the previous window ended. Tokens are counted from the backend's `usage.total_tokens`
 * after it answers, so concurrent requests can overshoot the limit for a moment, as the reference warns.
 * At most 10,000 keys are kept (expired windows first, then the oldest).
 */
export class TokenLimiter {
  private readonly counters = new Map<string, Counter>();

  constructor(private readonly now: () => number) {}

  /**
   * Inbound: refuses when the window has no room left, or (with `estimate-prompt-tokens`) less room than
   * the estimated prompt needs.
   */
  check(key: string, tokensPerMinute: number, estimatedPromptTokens: number | undefined): TokenLimitCheck {
    const counter = this.counter(key);
    const remainingTokens = Math.max(0, tokensPerMinute - counter.consumed);
    const needed = estimatedPromptTokens ?? 1;
    if (remainingTokens >= needed && remainingTokens > 0) {
      return { allowed: true, remainingTokens };
    }
    const retryAfterInSeconds = Math.max(1, Math.ceil((counter.windowStart + WINDOW_IN_MS - this.now()) / 1000));
    return { allowed: false, remainingTokens, retryAfterInSeconds };
  }

  /** Outbound: counts the tokens the backend reported; returns what remains of `tokensPerMinute`. */
  consume(key: string, tokens: number, tokensPerMinute: number): number {
    const counter = this.counter(key);
    counter.consumed += Math.max(0, tokens);
    return Math.max(0, tokensPerMinute - counter.consumed);
  }

  private counter(key: string): Counter {
    const at = this.now();
    const existing = this.counters.get(key);
    if (existing && at < existing.windowStart + WINDOW_IN_MS) {
      return existing;
    }
    const fresh: Counter = { windowStart: at, consumed: 0 };
    this.counters.delete(key);
    if (this.counters.size >= MAX_COUNTERS) this.evict(at);
    this.counters.set(key, fresh);
    return fresh;
  }

  private evict(at: number): void {
    for (const [key, counter] of this.counters) {
      if (at >= counter.windowStart + WINDOW_IN_MS) this.counters.delete(key);
    }
    const oldest = this.counters.keys().next();
    if (this.counters.size >= MAX_COUNTERS && oldest.done !== true) this.counters.delete(oldest.value);
  }
}
