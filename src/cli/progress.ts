import type { ProbeRecord } from '../lib/probe/types';
import type { SequentialDecision } from '../lib/stats/sequentialTest';

/** Options of {@link createProgress}. */
export interface ProgressOptions {
  /** Where the progress line goes (stderr). */
  readonly write: (text: string) => void;
  /** Most probes the run may send. */
  readonly maxProbes: number;
  /** Backend name → how a person recognises it (region or name), in pool order. */
  readonly labels: ReadonlyMap<string, string>;
  /** Clock for throttling redraws; default `Date.now`. */
  readonly now?: () => number;
  /** Smallest interval between two redraws (default 200 ms): a line per probe would flood a slow terminal. */
  readonly everyMs?: number;
}

/** A live progress line for `verify` on a terminal. */
export interface Progress {
  /** Feeds one completed probe and the sequential test's current decision. */
  onProbe(record: ProbeRecord, decision: SequentialDecision | null): void;
  /** Draws the final state and ends the line. */
  done(): void;
}

/**
 * One line, redrawn in place (`\r` + erase to end of line), that says how far the run is: probes answered out of
 * the maximum, answers per backend, failures by status, and what the sequential test says so far. Meant for a
 * terminal only: the caller decides (stderr is a TTY), so pipes and CI logs stay clean. Bounded: the counts are
 * keyed by the pool's backends and by status codes (a few at most), the line by the number of backends.
 */
export function createProgress(options: ProgressOptions): Progress {
  const now = options.now ?? Date.now;
  const everyMs = options.everyMs ?? 200;
  const answered = new Map<string, number>([...options.labels.keys()].map((name) => [name, 0]));
  const failed = new Map<string, number>();
  let throttled = 0;
  let other = 0;
  let completed = 0;
  let decision: SequentialDecision | null = null;
  let lastDrawMs = Number.NEGATIVE_INFINITY;
  let drawn = false;

  const line = (): string => {
    const parts = [`probes ${completed}/${options.maxProbes}`];
    const shares = [...answered].map(([name, n]) => `${options.labels.get(name) ?? name} ${n}`);
    if (other > 0) shares.push(`unidentified ${other}`);
    parts.push(shares.join(', '));
    const failures = [...failed].sort((a, b) => b[1] - a[1]).slice(0, 4);
    if (failures.length > 0) parts.push(`failed ${failures.map(([status, n]) => `${n} × ${status}`).join(', ')}`);
    if (throttled > 0) parts.push(`throttled by the gateway's token limit ${throttled}`);
    parts.push(`verdict so far: ${describeDecision(decision)}`);
    return parts.join(' · ');
  };
  const draw = (): void => {
    options.write(`\r\u001b[K${line()}`);
    drawn = true;
  };

  return {
    onProbe(record, current) {
      completed += 1;
      decision = current;
      if (record.kind === 'ok') {
        if (record.backend !== null && answered.has(record.backend)) answered.set(record.backend, (answered.get(record.backend) ?? 0) + 1);
        else other += 1;
      } else if (record.kind === 'gateway-throttled') {
        throttled += 1;
      } else {
        const key = record.status !== null ? String(record.status) : record.kind;
        if (failed.has(key) || failed.size < 16) failed.set(key, (failed.get(key) ?? 0) + 1);
      }
      const t = now();
      if (t - lastDrawMs >= everyMs) {
        lastDrawMs = t;
        draw();
      }
    },
    done() {
      if (completed === 0 && !drawn) return;
      draw();
      options.write('\n');
    },
  };
}

function describeDecision(decision: SequentialDecision | null): string {
  if (decision === null) return 'sequential test off (all probes are sent)';
  switch (decision.state) {
    case 'continue':
      return 'undecided';
    case 'drift':
      return 'drift';
    case 'ok':
      return 'every share within the tolerance (sequential stop)';
    case 'cap':
      return 'not decided within the probe limit';
  }
}
