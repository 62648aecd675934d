/**
 * `fn` over `items` with at most `limit` calls running at once; the results in the order of `items`. A rejection
 * rejects the whole (the calls already started still finish). Bounds fan-out over a fleet (hundreds of pools must not
 * open hundreds of requests to a table, a queue or ARM at once).
 */
export async function mapBounded<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next;
      next += 1;
      results[index] = await fn(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.max(0, Math.min(limit, items.length)) }, worker));
  return results;
}
