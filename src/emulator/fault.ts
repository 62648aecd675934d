/**
 * A condition imposed on one simulated Azure OpenAI resource.
 * - `down`: the listener is closed, so calls fail with ECONNREFUSED (an unreachable backend);
 * - `failing`: every call answers `status` (default 500);
 * - `throttled`: every call answers 429 with `Retry-After: retryAfterSeconds` (Azure OpenAI may ask for a day);
 * - `slow`: every answer is delayed by `delayInMs` (e.g. past a probe's timeout);
 * - `auth-reject`: 401 as when the gateway's identity lacks its role assignment;
 * - `healthy`: none of the above.
 */
export type Fault =
  | { kind: 'healthy' }
  | { kind: 'down' }
  | { kind: 'failing'; status?: number }
  | { kind: 'throttled'; retryAfterSeconds: number }
  | { kind: 'slow'; delayInMs: number }
  | { kind: 'auth-reject' };

/** One simulated resource and the fault it currently has. */
export interface FaultState {
  readonly host: string;
  readonly region: string;
  readonly fault: Fault;
}

/** Sets and clears faults on the simulated resources. */
export interface FaultController {
  /**
   * Applies a fault to every resource whose region (case- and space-insensitively) or host matches `target`;
   * resolves once listeners are closed/reopened.
   * @throws UnknownFaultTargetError (synchronously) when nothing matches, FaultSpecError for a malformed fault.
   */
  setFault(target: string, fault: Fault): Promise<void>;
  /** Makes the matching resources (all when `target` is absent) healthy again. @throws UnknownFaultTargetError */
  heal(target?: string): Promise<void>;
  list(): FaultState[];
}

/** Thrown when a fault target names no simulated resource. */
export class UnknownFaultTargetError extends Error {
  override readonly name = 'UnknownFaultTargetError';
  constructor(
    readonly target: string,
    readonly known: readonly string[],
  ) {
    super(`No simulated resource has region or host '${target}'; known: ${known.join(', ')}`);
  }
}
