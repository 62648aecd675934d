/**
 * What has been deployed to the emulated APIM service, in ARM's wire shape. The gateway reads it on every
 * request, so a change made through the ARM endpoint takes effect immediately (as a portal edit would).
 */

/** One pool member as ARM stores it (`BackendPoolItem`). */
export interface ArmPoolMember {
  readonly id: string;
  readonly priority?: number;
  readonly weight?: number;
}

/** One circuit-breaker rule as ARM stores it (`CircuitBreakerRule`). */
export interface ArmCircuitBreakerRule {
  readonly name?: string;
  readonly failureCondition?: {
    readonly count?: number;
    readonly percentage?: number;
    readonly interval?: string;
    readonly statusCodeRanges?: readonly { readonly min: number; readonly max: number }[];
    readonly errorReasons?: readonly string[];
  };
  readonly tripDuration?: string;
  readonly acceptRetryAfter?: boolean;
}

/** `properties` of a backend (the subset the emulator understands; other fields are kept verbatim). */
export interface ArmBackendProperties {
  readonly type?: 'Single' | 'Pool';
  readonly url?: string | null;
  readonly protocol?: string | null;
  readonly title?: string | null;
  readonly description?: string | null;
  readonly circuitBreaker?: { readonly rules: readonly ArmCircuitBreakerRule[] };
  readonly pool?: { readonly services: readonly ArmPoolMember[] };
  readonly [extra: string]: unknown;
}

/** A backend resource: `{id, type, name, properties}`. */
export interface ArmBackendResource {
  readonly id: string;
  readonly type: 'Microsoft.ApiManagement/service/backends';
  readonly name: string;
  readonly properties: ArmBackendProperties;
}

/** A stored entity with its entity tag. */
export interface StoredEntity<T> {
  readonly value: T;
  readonly etag: string;
}

/** In-memory store of backends and API policies, keyed case-insensitively like ARM. */
export class ArmBackendStore {
  private readonly backends = new Map<string, StoredEntity<ArmBackendResource>>();
  private readonly policies = new Map<string, StoredEntity<string>>();
  private version = 0;

  /** Full ARM id prefix of the service, e.g. `/subscriptions/…/service/apim-emulator`. */
  constructor(readonly serviceId: string) {}

  /** Returns a new quoted entity tag; every write gets a different one. */
  nextEtag(): string {
    this.version += 1;
    return `"${this.version.toString(16).padStart(8, '0')}-${Date.now().toString(16)}"`;
  }

  /** A tag for a collection answer: changes whenever anything in the store changes. */
  collectionEtag(): string {
    return `"c-${this.version.toString(16)}"`;
  }

  getBackend(name: string): StoredEntity<ArmBackendResource> | undefined {
    return this.backends.get(name.toLowerCase());
  }

  listBackends(): ArmBackendResource[] {
    return [...this.backends.values()].map((entry) => entry.value);
  }

  putBackend(resource: ArmBackendResource): StoredEntity<ArmBackendResource> {
    const entry = { value: resource, etag: this.nextEtag() };
    this.backends.set(resource.name.toLowerCase(), entry);
    return entry;
  }

  deleteBackend(name: string): boolean {
    const existed = this.backends.delete(name.toLowerCase());
    if (existed) {
      this.nextEtag();
    }
    return existed;
  }

  getPolicy(apiId: string): StoredEntity<string> | undefined {
    return this.policies.get(apiId.toLowerCase());
  }

  putPolicy(apiId: string, xml: string): StoredEntity<string> {
    const entry = { value: xml, etag: this.nextEtag() };
    this.policies.set(apiId.toLowerCase(), entry);
    return entry;
  }

  /**
   * Resolves a member id in full ARM form (`/subscriptions/…/backends/<name>`) or the short form seen in
   * samples (`/backends/<name>`) to a backend name; undefined when the id names another service.
   */
  memberName(id: string): string | undefined {
    const trimmed = id.trim().replace(/\/+$/, '');
    const match = /(?:^|\/)backends\/([^/]+)$/i.exec(trimmed);
    if (!match || match[1] === undefined) {
      return undefined;
    }
    const prefix = trimmed.slice(0, trimmed.length - match[0].length).replace(/\/+/g, '/');
    if (prefix === '' || prefix.toLowerCase() === this.serviceId.toLowerCase()) {
      return decodeURIComponent(match[1]);
    }
    return undefined;
  }

  /** Full ARM id of a backend of this service. */
  backendId(name: string): string {
    return `${this.serviceId}/backends/${name}`;
  }
}
