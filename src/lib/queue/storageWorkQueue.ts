// PLACEHOLDER in branch `lead` only: replaced by hqueue's implementation at merge.
import type { Settings } from '../config/types';
import type { WorkQueue } from './types';
export function createStorageWorkQueue(_settings: Settings): WorkQueue {
  throw new Error('placeholder');
}
