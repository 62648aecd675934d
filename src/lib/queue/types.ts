/** The queue the timer fans out through: one message per pool per tick (see README "Fleet"). */
export const PROBE_QUEUE_NAME = 'probe-runs';

/** One pool's run, asked for by one timer tick. */
export interface PoolRunMessage {
  readonly pool: string;
  readonly service: string;
  /** ISO time of the timer tick that asked for the run. */
  readonly tick: string;
}

export interface WorkQueue {
  enqueue(message: PoolRunMessage): Promise<void>;
  /** Newest poisoned messages (peeked, not removed), at most `limit`. */
  poisoned(limit: number): Promise<readonly { readonly message: PoolRunMessage; readonly insertedOn: string | null }[]>;
  close(): Promise<void>;
}
