import type { ResolvedPool } from '../pool/types';

/**
 * Returns a function naming the pool member a recorded backend call went to, or null:
 * - by the host of the URL it was sent to, when exactly one member has that host;
 * - else by the backend id, which may be the member's id or its ARM id (`…/backends/<id>`), compared without case.
 *   (APIM's `BackendId` column may name the pool instead of the member — not documented — hence the host first.)
 */
export function attributeAttempt(pool: ResolvedPool): (host: string, backendId: string) => string | null {
  const owners = new Map<string, string[]>();
  for (const backend of pool.backends) {
    const host = hostOf(backend.url);
    if (host !== null) owners.set(host, [...(owners.get(host) ?? []), backend.name]);
  }
  const byHost = new Map([...owners.entries()].filter(([, names]) => names.length === 1).map(([host, names]) => [host, names[0]!]));
  const byId = new Map(pool.backends.map((backend) => [backend.name.toLowerCase(), backend.name]));
  return (host, backendId) =>
    byHost.get(host.toLowerCase()) ?? byId.get(backendId.slice(backendId.lastIndexOf('/') + 1).toLowerCase()) ?? null;
}

/** Lower-case host of a URL, or null when it is not one. */
export function hostOf(url: string): string | null {
  try {
    return new URL(url).hostname.toLowerCase();
  } catch {
    return null;
  }
}
