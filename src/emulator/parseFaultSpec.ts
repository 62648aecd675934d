import { isRecord } from './httpUtil';
import type { Fault } from './fault';

/** Thrown for a fault written wrongly; `spec` is what was given. */
export class FaultSpecError extends Error {
  override readonly name = 'FaultSpecError';
  constructor(
    readonly spec: string,
    message: string,
  ) {
    super(message);
  }
}

/** A parsed `--fault` flag: which resource (region or host) and what fault. */
export interface FaultSpec {
  readonly target: string;
  readonly fault: Fault;
}

const FORMS = 'down, failing[:status], throttled:<seconds>, slow:<ms>, auth-reject, healthy';

/**
 * Parses a CLI fault flag `<region or host>=<fault>`, e.g. `East US=throttled:86400`,
 * `aoai-nov26-instance1.openai.azure.com=down`, `West US=failing:503`, `East US=slow:30000`.
 * @throws FaultSpecError naming what is wrong and the accepted forms.
 */
export function parseFaultSpec(spec: string): FaultSpec {
  const separator = spec.lastIndexOf('=');
  if (separator <= 0) {
    throw new FaultSpecError(spec, `Fault '${spec}' must look like '<region or host>=<fault>' (fault: ${FORMS}).`);
  }
  const target = spec.slice(0, separator).trim();
  if (target === '') {
    throw new FaultSpecError(spec, `Fault '${spec}' names no region or host before '='.`);
  }
  return { target, fault: parseFault(spec.slice(separator + 1), spec) };
}

/** Parses the fault part alone (`throttled:60`). @throws FaultSpecError */
export function parseFault(text: string, spec = text): Fault {
  const [kindText = '', argument, ...extra] = text.trim().split(':');
  const kind = kindText.trim().toLowerCase();
  const number = (name: string, min: number, max: number): number => {
    const value = argument === undefined ? NaN : Number(argument.trim());
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new FaultSpecError(spec, `Fault '${spec}': ${name} must be an integer from ${min} to ${max}; got '${argument ?? ''}'.`);
    }
    return value;
  };
  if (extra.length > 0) {
    throw new FaultSpecError(spec, `Fault '${spec}' has too many ':' parts (fault: ${FORMS}).`);
  }
  const noArgument = (fault: Fault): Fault => {
    if (argument !== undefined) {
      throw new FaultSpecError(spec, `Fault '${spec}': '${kind}' takes no argument.`);
    }
    return fault;
  };
  switch (kind) {
    case 'down':
      return noArgument({ kind: 'down' });
    case 'healthy':
      return noArgument({ kind: 'healthy' });
    case 'auth-reject':
      return noArgument({ kind: 'auth-reject' });
    case 'failing':
      return argument === undefined ? { kind: 'failing' } : { kind: 'failing', status: number('status', 400, 599) };
    case 'throttled':
      return { kind: 'throttled', retryAfterSeconds: number('retry-after seconds', 0, 7 * 86400) };
    case 'slow':
      return { kind: 'slow', delayInMs: number('delay in ms', 0, 3_600_000) };
    default:
      throw new FaultSpecError(spec, `Fault '${spec}': unknown kind '${kindText}' (fault: ${FORMS}).`);
  }
}

/** Validates a fault given as JSON (control API). @throws FaultSpecError */
export function toFault(value: unknown): Fault {
  if (typeof value === 'string') {
    return parseFault(value);
  }
  if (!isRecord(value) || typeof value['kind'] !== 'string') {
    throw new FaultSpecError(JSON.stringify(value) ?? String(value), `'fault' must be an object with a 'kind' (${FORMS}) or a string such as 'throttled:60'.`);
  }
  const kind = value['kind'];
  const argument =
    kind === 'failing' ? value['status'] : kind === 'throttled' ? value['retryAfterSeconds'] : kind === 'slow' ? value['delayInMs'] : undefined;
  return parseFault(argument === undefined ? kind : `${kind}:${String(argument)}`, JSON.stringify(value));
}
