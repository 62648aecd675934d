// PLACEHOLDER in branch `lead` only: replaced by hqueue's in-process queue at merge.
import type { WorkQueue } from './types';
export function createInProcessWorkQueue(): WorkQueue {
  return { enqueue: async () => undefined, poisoned: async () => [], close: async () => undefined };
}
