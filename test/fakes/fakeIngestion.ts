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
  /** Paths other than `/v2.1/track` that were called (live metrics, statsbeat …). */
  otherPaths(): string[];
  close(): Promise<void>;
}

/**
 * A fake Application Insights ingestion endpoint on loopback https: accepts `POST /v2.1/track` (JSON array of
 * envelopes, gzip or not) and answers like Breeze (`itemsReceived`, `itemsAccepted`, `errors`).
 */
export async function startFakeIngestion(instrumentationKey = '00000000-1111-4222-8333-444444444444'): Promise<FakeIngestion> {
  const server = await startHttpsFakeServer((request) => {
    if (request.method === 'POST' && request.url.startsWith('/v2.1/track')) {
      const items = JSON.parse(request.text) as unknown[];
      return { status: 200, body: { itemsReceived: items.length, itemsAccepted: items.length, errors: [] } };
    }
    return { status: 404, body: { error: 'not found' } };
  });
  const tracks = (): typeof server.requests => server.requests.filter((r) => r.url.startsWith('/v2.1/track'));
  return {
    server,
    instrumentationKey,
    connectionString: `InstrumentationKey=${instrumentationKey};IngestionEndpoint=${server.origin}/;LiveEndpoint=${server.origin}/`,
    envelopes: () => tracks().flatMap((r) => JSON.parse(r.text) as TelemetryEnvelope[]),
    rawBodies: () => tracks().map((r) => r.text),
    otherPaths: () => server.requests.filter((r) => !r.url.startsWith('/v2.1/track')).map((r) => `${r.method} ${r.url}`),
    close: () => server.close(),
  };
}
