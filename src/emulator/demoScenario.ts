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
  try {
    log(`Step 1: every region is healthy; traffic follows the pool weights.`);
    if (!(await wait(stepInMs))) return;
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
    log(`Step 4: traffic has shifted to ${otherText}; the measured split no longer matches the weights.`);
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
    log(
      stillTripped.length === 0
        ? `Step 6: the pool has recovered and traffic follows the weights again.`
        : `Step 6: ${region} is healthy, but the breaker of ${stillTripped.join(', ')} stays open until its Retry-After ends; traffic returns then.`,
    );
  } finally {
    if (signal?.aborted) {
      await env.faults.heal();
      log('Demo stopped; every region was healed.');
    }
  }
}
