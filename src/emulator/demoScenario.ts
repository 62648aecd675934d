import type { EmbeddedEnvironment } from './startEmbeddedEnvironment';

export interface DemoScenarioOptions {
  /** Pause between steps in ms (the verifier's probes run meanwhile). */
  readonly stepInMs: number;
  /** Receives one plain sentence per step. */
  readonly log: (sentence: string) => void;
  /** Stops the scenario (it then heals everything and resolves). */
  readonly signal?: AbortSignal;
  /** Region to throttle; default the second resource's region (East US in the lab). */
  readonly region?: string;
  /** Awaited after each step is applied and logged, before the pause (tests send traffic here). */
  readonly afterStep?: (step: number) => Promise<void>;
  /**
   * After healing, how long to wait at most for every circuit breaker to close (a tripped breaker honours
   * the throttle's Retry-After) before the last step; default 90 s. Checked once a second.
   */
  readonly recoveryTimeoutInMs?: number;
  /**
   * What the verifier has observed so far. When given, the narration waits for the verifier instead of a fixed
   * clock: "drift flagged" only once a run that started after the fault was judged drift, "recovered" only once the
   * alert state is back to ok (each wait bounded by four steps). Without it, the steps say what the emulator did.
   */
  readonly observe?: () => Promise<DemoObservation>;
}

/** The verifier's latest finished run and its alert health, as the demo narration reads them. */
export interface DemoObservation {
  readonly latestRun: { readonly startedAtMs: number; readonly verdict: string | null } | null;
  /** Recent finished runs, any order (the narration names the earliest drift after the fault); optional. */
  readonly recentRuns?: readonly { readonly startedAtMs: number; readonly verdict: string | null }[];
  /** The alert state's health (`ok`, `drift` …); null when alerting keeps no state. */
  readonly health: string | null;
}

interface ControlState {
  readonly breakers: readonly { readonly backendId: string; readonly tripped: boolean; readonly gatewayInstance: number }[];
}

/**
 * Plays the lab's story once, step by step: healthy traffic; one region throttled with `Retry-After: 60`;
 * its circuit breaker trips (read from the control API) and traffic shifts to the other region; the
 * region heals; the pool recovers. Bounded (six steps); stops early on `signal`, always healing first.
 */
export async function playDemoScenario(env: EmbeddedEnvironment, options: DemoScenarioOptions): Promise<void> {
  const { stepInMs, log, signal, afterStep } = options;
  const region = options.region ?? env.resources[1]?.region ?? env.resources[0]?.region;
  if (region === undefined) {
    log('Demo skipped: the environment has no simulated resources.');
    return;
  }
  const others = env.resources.filter((resource) => resource.region !== region).map((resource) => resource.region);
  const otherText = others.length > 0 ? others.join(' and ') : 'no other region';
  const sleep = (ms: number): Promise<boolean> =>
    new Promise((resolve) => {
      if (signal?.aborted) {
        resolve(false);
        return;
      }
      const onAbort = (): void => {
        clearTimeout(timer);
        resolve(false);
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve(true);
      }, ms);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  let step = 0;
  const wait = async (ms: number): Promise<boolean> => {
    step += 1;
    await afterStep?.(step);
    return sleep(ms);
  };
  const trippedBreakers = async (): Promise<string[]> => {
    try {
      const response = await fetch(`${env.controlUrl}/state`, { signal: AbortSignal.timeout(5_000) });
      const state = (await response.json()) as ControlState;
      return [...new Set(state.breakers.filter((breaker) => breaker.tripped).map((breaker) => breaker.backendId))];
    } catch {
      return [];
    }
  };
  /**
   * Polls `check` once a second until it returns a value, for at most four steps. The value, null when the time
   * ran out, or undefined when the scenario was stopped.
   */
  const until = async <T>(check: () => Promise<T | null>): Promise<T | null | undefined> => {
    const deadline = Date.now() + 4 * stepInMs;
    for (;;) {
      let value: T | null = null;
      try {
        value = await check();
      } catch {
        value = null;
      }
      if (value !== null) return value;
      if (Date.now() >= deadline) return null;
      if (!(await sleep(Math.min(1000, stepInMs)))) return undefined;
    }
  };
  try {
    log(`Step 1: every region is healthy; traffic follows the pool weights.`);
    if (!(await wait(stepInMs))) return;
    const faultAtMs = Date.now();
    await env.faults.setFault(region, { kind: 'throttled', retryAfterSeconds: 60 });
    log(`Step 2: ${region} now answers 429 with Retry-After 60 seconds.`);
    if (!(await wait(stepInMs))) return;
    const tripped = await trippedBreakers();
    log(
      tripped.length > 0
        ? `Step 3: the circuit breaker of ${tripped.join(', ')} has tripped, so the gateway stops sending there.`
        : `Step 3: no circuit breaker has tripped yet (no traffic reached ${region}, or its rule ignores 429).`,
    );
    if (!(await wait(stepInMs))) return;
    if (options.observe) {
      const flagged = await until(async () => {
        const seen = await options.observe!();
        const runs = [...(seen.recentRuns ?? []), ...(seen.latestRun ? [seen.latestRun] : [])];
        const drifted = runs.filter((run) => run.startedAtMs >= faultAtMs && run.verdict === 'drift').sort((a, b) => a.startedAtMs - b.startedAtMs);
        return drifted[0] ?? null;
      });
      if (flagged === undefined) return;
      log(
        flagged
          ? `Step 4: the verifier flagged drift in the run that started ${Math.round((flagged.startedAtMs - faultAtMs) / 1000)} s after the fault; the report shows the incident.`
          : `Step 4: the verifier has not flagged drift in the ${Math.round((Date.now() - faultAtMs) / 1000)} s since the fault (traffic still went to ${otherText}).`,
      );
    } else {
      log(`Step 4: the gateway now sends ${region}'s share to ${otherText}; the verifier's next runs should see the split move.`);
    }
    if (!(await wait(stepInMs))) return;
    await env.faults.heal(region);
    log(`Step 5: ${region} is healthy again; its breaker closes when its trip time (or Retry-After) ends.`);
    if (!(await wait(stepInMs))) return;
    const recoveryTimeoutInMs = options.recoveryTimeoutInMs ?? 90_000;
    const started = Date.now();
    let stillTripped = await trippedBreakers();
    while (stillTripped.length > 0 && Date.now() - started < recoveryTimeoutInMs) {
      if (!(await sleep(Math.min(1000, recoveryTimeoutInMs)))) return;
      stillTripped = await trippedBreakers();
    }
    if (stillTripped.length > 0) {
      log(`Step 6: ${region} is healthy, but the breaker of ${stillTripped.join(', ')} stays open until its Retry-After ends; traffic returns then.`);
    } else if (options.observe) {
      log(`Step 6: every breaker has closed, so ${region} gets traffic again; waiting for the verifier to see it.`);
      const recovered = await until(async () => ((await options.observe!()).health === 'ok' ? true : null));
      if (recovered === undefined) return;
      log(
        recovered
          ? 'Step 7: the verifier recorded the recovery (clean runs in a row); the incident is closed in the report.'
          : 'Step 7: the verifier has not recorded a recovery yet; its next clean runs will.',
      );
    } else {
      log(`Step 6: every breaker has closed, so ${region} gets traffic again.`);
    }
  } finally {
    if (signal?.aborted) {
      await env.faults.heal();
      log('Demo stopped; every region was healed.');
    }
  }
}
