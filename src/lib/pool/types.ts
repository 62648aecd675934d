/**
 * The pool definition: the user-facing contract (a JSON file validated by `schema/pool-definition.schema.json`)
 * and the resolved, fully defaulted form that every other module consumes.
 *
 * Facts (Microsoft.ApiManagement backends, api-version 2024-05-01): backend ids are 1–80 characters;
 * `priority` and `weight` are integers 0–100 and may be absent; a pool has 1–30 members, each a single
 * backend (no pool inside a pool); lower priority number = higher priority.
 */

/** One circuit-breaker rule of a single backend (the service accepts exactly one rule per backend). */
export interface CircuitBreakerRule {
  readonly name: string;
  readonly failureCondition: {
    /** Trip after this many matching failures within `interval` (exclusive with `percentage`). */
    readonly count?: number;
    /** Trip when this percentage of calls within `interval` match (exclusive with `count`). */
    readonly percentage?: number;
    /** ISO 8601 duration, e.g. `PT1M`. */
    readonly interval: string;
    readonly statusCodeRanges?: readonly { readonly min: number; readonly max: number }[];
    readonly errorReasons?: readonly string[];
  };
  /** ISO 8601 duration, e.g. `PT1M`. */
  readonly tripDuration: string;
  /** Honour the backend's `Retry-After` instead of `tripDuration`. */
  readonly acceptRetryAfter?: boolean;
}

/** A member of the pool as written in the definition file. */
export interface BackendDefinition {
  /** APIM backend id of the single backend, 1–80 characters. */
  readonly name: string;
  /** Runtime URL, e.g. `https://aoai-nov26-instance1.openai.azure.com/openai`. */
  readonly url: string;
  /** Azure region as Azure OpenAI reports it in `x-ms-region`, e.g. `West US`. */
  readonly region?: string;
  /** Integer 0–100; lower is preferred. Absent = 0 as far as grouping goes (APIM treats absent as highest). */
  readonly priority?: number;
  /** Integer 0–100; absent in a group where all are absent = equal split. */
  readonly weight?: number;
  /** Value of `probe.identify.header` that identifies this backend when a custom header is used. */
  readonly identifier?: string;
  readonly description?: string;
  readonly circuitBreaker?: CircuitBreakerRule;
}

/** Where the APIM service lives (optional section `apim`). */
export interface ApimLocation {
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  readonly serviceName: string;
  /** ARM api-version for the backends resource; default `2024-05-01`. */
  readonly armApiVersion: string;
  /** API id whose policy is checked (optional). */
  readonly apiId?: string;
}

/** How a probe tells which backend answered. */
export type Identification =
  /** Default: the `x-ms-region` header matched (case- and space-insensitively) to each backend's `region`. */
  | { readonly mode: 'region'; readonly header: string }
  /** A named header (e.g. added by the API's outbound policy) matched exactly to each backend's `identifier`. */
  | { readonly mode: 'header'; readonly header: string };

export type SubscriptionKeyHeader = 'api-key' | 'Ocp-Apim-Subscription-Key';

/** How to probe (optional section `probe`). */
export interface ProbeSettings {
  /** Azure OpenAI deployment name; default `gpt-4o`. */
  readonly deployment: string;
  /** Inference api-version; default `2024-02-01`. */
  readonly apiVersion: string;
  /** Header carrying the APIM subscription key; default `api-key`. */
  readonly subscriptionKeyHeader: SubscriptionKeyHeader;
  readonly identify: Identification;
  /**
   * Headers every probe sends besides the key and content-type (`probe.headers`, e.g. the header an API routes on);
   * default `{}`. Validated: HTTP token names, printable values ≤ 1024 characters, at most 20, no credential and no
   * hop-by-hop or framing header.
   */
  readonly headers: Readonly<Record<string, string>>;
  /** The API's token-limit policy's tokens-per-minute (`probe.tokenLimitPerMinute`), when declared; undefined otherwise. */
  readonly tokenLimitPerMinute?: number | undefined;
}

/** The definition file as a user writes it (before defaults). */
export interface PoolDefinitionDocument {
  readonly pool: {
    readonly name: string;
    readonly description?: string;
    readonly backends: readonly BackendDefinition[];
  };
  readonly apim?: Partial<ApimLocation>;
  readonly probe?: {
    readonly deployment?: string;
    readonly apiVersion?: string;
    readonly subscriptionKeyHeader?: SubscriptionKeyHeader;
    /** Absent = `{ "header": "x-ms-region" }` matched to `region`; any other header is matched to `identifier`. */
    readonly identify?: { readonly header?: string };
    readonly headers?: Readonly<Record<string, string>>;
    readonly tokenLimitPerMinute?: number;
  };
  readonly gateway?: { readonly url?: string; readonly subscriptionKeySetting?: string };
  readonly alerts?: { readonly webhookUrlSetting?: string };
}

/** A backend after validation, with its expected share computed from the definition. */
export interface ResolvedBackend {
  readonly name: string;
  readonly url: string;
  readonly region: string | undefined;
  /** Effective priority (absent in the file → 0). */
  readonly priority: number;
  /** Weight as declared (absent → undefined). */
  readonly weight: number | undefined;
  readonly identifier: string | undefined;
  readonly circuitBreaker: CircuitBreakerRule | undefined;
  /** Expected share of answers in [0, 1] while every backend is available. */
  readonly expectedShare: number;
  /** True when the backend belongs to the best (lowest-number) priority group. */
  readonly isPrimary: boolean;
}

/** The validated, fully defaulted definition every module consumes. Immutable. */
export interface ResolvedPool {
  readonly name: string;
  readonly description: string | undefined;
  readonly backends: readonly ResolvedBackend[];
  /** Present only when subscriptionId, resourceGroup and serviceName are all given. */
  readonly apim: ApimLocation | undefined;
  /**
   * The `apim` section as written, with `armApiVersion` defaulted, even when incomplete, so that settings
   * (APIM_SUBSCRIPTION_ID …) can complete it. Undefined when the file has no `apim` section.
   */
  readonly apimDeclared?: Partial<ApimLocation> | undefined;
  readonly probe: ProbeSettings;
  /**
   * Section `gateway`: the API's base URL on the gateway (trailing `/` dropped) and the NAME of the app setting that
   * holds its subscription key. Undefined members fall back to APIM_GATEWAY_URL / APIM_SUBSCRIPTION_KEY
   * (`resolvePoolSecrets`).
   */
  readonly gateway: { readonly url: string | undefined; readonly subscriptionKeySetting: string | undefined };
  /** Section `alerts`: the NAME of the app setting that holds this pool's webhook URL (else ALERT_WEBHOOK_URL). */
  readonly alerts: { readonly webhookUrlSetting: string | undefined };
}

/** One validation problem, located by JSON path (e.g. `$.pool.backends[1].weight`). */
export interface DefinitionIssue {
  readonly path: string;
  readonly message: string;
}
