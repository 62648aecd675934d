/** One backend call made for a client request. */
export interface AccessLogAttempt {
  /** APIM backend id of the pool member that was called. */
  readonly backendId: string;
  /** Host of the backend URL, e.g. `aoai-nov26-instance1.openai.azure.com`. */
  readonly host: string;
  /** Region of the simulated resource behind that host; null when the host is unknown. */
  readonly region: string | null;
  /** HTTP status, or null when the call got no answer. */
  readonly status: number | null;
  /** `BackendConnectionFailure` or `Timeout` when no answer came. */
  readonly error?: string;
  /** True when this answer tripped the member's circuit breaker on this gateway instance. */
  readonly tripped?: boolean;
}

/** One client request through the gateway. */
export interface AccessLogEntry {
  /** The `apim-request-id` returned to the client. */
  readonly id: string;
  /** API id of the API that the path selected (`openai` …); '' when no API matched. */
  readonly apiId: string;
  /** That API's URL suffix (path), e.g. `openai`; '' when no API matched. */
  readonly apiPath: string;
  /** Epoch ms (from the environment's clock). */
  readonly at: number;
  /** Status the client got. */
  readonly status: number;
  /** 0-based gateway instance that served it. */
  readonly gatewayInstance: number;
  readonly attempts: readonly AccessLogAttempt[];
  /**
   * Set when the gateway answered itself: `unauthorized`, `not-found`, `no-pool`, `pool-unavailable`,
   * `token-limit` …
   */
  readonly outcome?: string;
}

/** The gateway's access log (bounded; oldest entries dropped first). */
export class AccessLog {
  private items: AccessLogEntry[] = [];

  constructor(private readonly capacity = 100_000) {}

  add(entry: AccessLogEntry): void {
    this.items.push(entry);
    if (this.items.length > this.capacity) {
      this.items.splice(0, this.items.length - this.capacity);
    }
  }

  /** All entries, oldest first (a copy); only those of one API when `apiId` is given. */
  entries(apiId?: string): AccessLogEntry[] {
    if (apiId === undefined) return [...this.items];
    const wanted = apiId.toLowerCase();
    return this.items.filter((entry) => entry.apiId.toLowerCase() === wanted);
  }

  clear(): void {
    this.items = [];
  }
}
