import { audienceOf } from './fakeCredential';
import { startHttpsFakeServer, type HttpsFakeServer } from './httpsFakeServer';

/** One Application Insights envelope as posted to `/v2.1/track` (the fields tests look at). */
export interface TelemetryEnvelope {
  readonly name: string;
  readonly time: string;
  readonly iKey: string;
  readonly sampleRate?: number;
  readonly tags: Readonly<Record<string, string>>;
  readonly data: {
    readonly baseType: string;
    readonly baseData: {
      readonly name?: string;
      readonly duration?: string;
      readonly success?: boolean;
      readonly resultCode?: string;
      readonly properties?: Readonly<Record<string, string>>;
      readonly measurements?: Readonly<Record<string, number>>;
      readonly metrics?: readonly { readonly name: string; readonly value: number; readonly count?: number }[];
    };
  };
}

export interface FakeIngestion {
  readonly server: HttpsFakeServer;
  /** `InstrumentationKey=…;IngestionEndpoint=https://127.0.0.1:PORT/;LiveEndpoint=https://127.0.0.1:PORT/`. */
  readonly connectionString: string;
  readonly instrumentationKey: string;
  /** Every envelope received so far, in arrival order. */
  envelopes(): TelemetryEnvelope[];
  /** Raw bodies (decompressed) of every track request, for secret scans. */
  rawBodies(): string[];
  /** Track requests refused (401/403), with the Authorization header they carried (undefined when none). */
  refusals(): { readonly authorization: string | undefined }[];
  /** Paths other than `/v2.1/track` that were called (live metrics, statsbeat …). */
  otherPaths(): string[];
  close(): Promise<void>;
}

/** Options of {@link startFakeIngestion}. */
export interface FakeIngestionOptions {
  readonly instrumentationKey?: string;
  /**
   * Behave like a resource with local authentication disabled (`DisableLocalAuth: true`): refuse every batch
   * without a bearer token for this audience (e.g. `https://monitor.azure.com`) with 401 and Breeze's error
   * body, as Azure does; the key in the envelopes alone is not enough.
   */
  readonly requireTokenAudience?: string;
  /**
   * Behave like a resource where the token's identity lacks Monitoring Metrics Publisher: a batch with a valid
   * token is refused with 403 (Breeze's error body). Needs `requireTokenAudience`.
   */
  readonly forbidden?: boolean;
}

/**
 * A fake Application Insights ingestion endpoint on loopback https: accepts `POST /v2.1/track` (JSON array of
 * envelopes, gzip or not) and answers like Breeze (`itemsReceived`, `itemsAccepted`, `errors`). Refused batches
 * are not recorded as envelopes (they never reach the tables).
 */
export async function startFakeIngestion(options: string | FakeIngestionOptions = {}): Promise<FakeIngestion> {
  const { instrumentationKey = '00000000-1111-4222-8333-444444444444', requireTokenAudience, forbidden = false } =
    typeof options === 'string' ? { instrumentationKey: options } : options;
  const refused = new WeakSet<object>();
  const server = await startHttpsFakeServer((request) => {
    if (request.method === 'POST' && request.url.startsWith('/v2.1/track')) {
      const items = JSON.parse(request.text) as unknown[];
      if (requireTokenAudience !== undefined) {
        const authorization = typeof request.headers.authorization === 'string' ? request.headers.authorization : undefined;
        const audience = audienceOf(authorization);
        if (audience !== requireTokenAudience) {
          refused.add(request);
          const message =
            authorization === undefined
              ? 'Unauthorized - please provide the valid authorization token'
              : 'Unauthorized - the authorization token is not valid for this resource (audience)';
          return {
            status: 401,
            body: { itemsReceived: items.length, itemsAccepted: 0, errors: items.map((_, index) => ({ index, statusCode: 401, message })) },
          };
        }
        if (forbidden) {
          refused.add(request);
          const message = 'Forbidden - the identity is not authorized to send telemetry to this resource';
          return { status: 403, body: { itemsReceived: items.length, itemsAccepted: 0, errors: items.map((_, index) => ({ index, statusCode: 403, message })) } };
        }
      }
      return { status: 200, body: { itemsReceived: items.length, itemsAccepted: items.length, errors: [] } };
    }
    return { status: 404, body: { error: 'not found' } };
  });
  const tracks = (): typeof server.requests => server.requests.filter((r) => r.url.startsWith('/v2.1/track') && !refused.has(r));
  return {
    server,
    instrumentationKey,
    connectionString: `InstrumentationKey=${instrumentationKey};IngestionEndpoint=${server.origin}/;LiveEndpoint=${server.origin}/`,
    envelopes: () => tracks().flatMap((r) => JSON.parse(r.text) as TelemetryEnvelope[]),
    rawBodies: () => tracks().map((r) => r.text),
    refusals: () =>
      server.requests
        .filter((r) => refused.has(r))
        .map((r) => ({ authorization: typeof r.headers.authorization === 'string' ? r.headers.authorization : undefined })),
    otherPaths: () => server.requests.filter((r) => !r.url.startsWith('/v2.1/track')).map((r) => `${r.method} ${r.url}`),
    close: () => server.close(),
  };
}
