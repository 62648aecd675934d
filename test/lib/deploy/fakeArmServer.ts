import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A recording fake of the ARM endpoints the deployer uses (Microsoft.ApiManagement backends and API
 * policies), on a real loopback port. It keeps backends with ETags, honours If-Match, validates bodies the
 * way the service does (facts from the 2024-05-01 spec and the service's known behaviour, copied here),
 * and can be scripted to fail.
 */

export interface RecordedRequest {
  readonly method: string;
  /** Decoded path without the query. */
  readonly path: string;
  readonly query: Record<string, string>;
  readonly headers: IncomingHttpHeaders;
  readonly body: unknown;
}

export type ScriptedAction =
  | { readonly kind: 'respond'; readonly status: number; readonly headers?: Record<string, string>; readonly body?: unknown }
  /** Destroy the socket without answering (a network reset). */
  | { readonly kind: 'reset' }
  /** Never answer (until the server closes). */
  | { readonly kind: 'hang' }
  /** Send 200 headers, then one body byte every `everyInMs` without ever finishing (defeats idle timeouts). */
  | { readonly kind: 'drip'; readonly everyInMs: number }
  /** Run a side effect (e.g. a concurrent portal edit), then answer normally. */
  | { readonly kind: 'run'; readonly run: () => void };

export interface ScriptEntry {
  readonly method?: string;
  /** Matches when the last path segment equals this (a backend id, or `policy`). */
  readonly resource?: string;
  /** How many matching requests this entry handles; default 1. */
  times?: number;
  readonly action: ScriptedAction;
}

export interface StoredBackend {
  properties: Record<string, unknown>;
  etag: string;
}

export interface FakeArmServer {
  readonly endpoint: string;
  readonly requests: RecordedRequest[];
  /** Keyed by lower-cased backend name (one service per fake). */
  readonly backends: Map<string, StoredBackend>;
  /** Keyed by lower-cased API id. */
  readonly policies: Map<string, string>;
  /**
   * What `GET {service}/providers/Microsoft.Authorization/permissions?api-version=2022-04-01` lists (the caller's
   * role definitions' actions/notActions). Default: the Contributor role's entry. `reset()` restores it.
   */
  permissions: { actions: string[]; notActions: string[] }[];
  script(entry: ScriptEntry): void;
  /** Store a backend as if created earlier (e.g. from the portal). */
  seed(name: string, properties: Record<string, unknown>): void;
  /** Change a stored backend (new ETag), as a concurrent portal edit would. */
  edit(name: string, change: (properties: Record<string, unknown>) => void): void;
  /** Methods and last path segments of the recorded requests, e.g. `GET openai-instance1`. */
  calls(): string[];
  clearRequests(): void;
  /** Forget requests, backends, policies and unused script entries. */
  reset(): void;
  close(): Promise<void>;
}

const BACKEND_PATH =
  /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.ApiManagement\/service\/([^/]+)\/backends\/([^/]+)$/i;
const POLICY_PATH =
  /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.ApiManagement\/service\/([^/]+)\/apis\/([^/]+)\/policies\/policy$/i;

const PERMISSIONS_PATH =
  /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.ApiManagement\/service\/([^/]+)\/providers\/Microsoft\.Authorization\/permissions$/i;
/** The built-in Contributor role's permissions (as ARM lists them). */
export const CONTRIBUTOR_PERMISSIONS = {
  actions: ['*'],
  notActions: [
    'Microsoft.Authorization/*/Delete',
    'Microsoft.Authorization/*/Write',
    'Microsoft.Authorization/elevateAccess/Action',
    'Microsoft.Blueprint/blueprintAssignments/write',
    'Microsoft.Blueprint/blueprintAssignments/delete',
    'Microsoft.Compute/galleries/share/action',
    'Microsoft.Purview/consents/write',
    'Microsoft.Purview/consents/delete',
  ],
};

function armError(status: number, code: string, message: string): { status: number; body: unknown } {
  return { status, body: { error: { code, message } } };
}

export async function startFakeArmServer(): Promise<FakeArmServer> {
  const requests: RecordedRequest[] = [];
  const backends = new Map<string, StoredBackend>();
  const policies = new Map<string, string>();
  const scripts: ScriptEntry[] = [];
  let etagCounter = 0;
  const contributor = (): { actions: string[]; notActions: string[] }[] => [{ actions: [...CONTRIBUTOR_PERMISSIONS.actions], notActions: [...CONTRIBUTOR_PERMISSIONS.notActions] }];
  const fake = { permissions: contributor() } as FakeArmServer;
  const nextEtag = (): string => `"etag-${++etagCounter}"`;

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
    const text = body === undefined ? '' : JSON.stringify(body);
    res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
    res.end(text);
  };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://fake');
      const path = decodeURIComponent(url.pathname);
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      try {
        body = text === '' ? undefined : JSON.parse(text);
      } catch {
        body = text;
      }
      const method = req.method ?? 'GET';
      requests.push({ method, path, query: Object.fromEntries(url.searchParams), headers: req.headers, body });

      const lastSegment = path.slice(path.lastIndexOf('/') + 1);
      const entry = scripts.find(
        (candidate) =>
          (candidate.times ?? 1) > 0 &&
          (candidate.method === undefined || candidate.method === method) &&
          (candidate.resource === undefined || candidate.resource.toLowerCase() === lastSegment.toLowerCase()),
      );
      if (entry) {
        entry.times = (entry.times ?? 1) - 1;
        const action = entry.action;
        if (action.kind === 'reset') {
          req.socket.destroy();
          return;
        }
        if (action.kind === 'hang') {
          return;
        }
        if (action.kind === 'drip') {
          res.writeHead(200, { 'Content-Type': 'application/json' });
          const timer = setInterval(() => res.write(' '), action.everyInMs);
          res.on('close', () => clearInterval(timer));
          return;
        }
        if (action.kind === 'respond') {
          send(res, action.status, action.body, action.headers);
          return;
        }
        action.run();
      }

      if (!/^Bearer \S+$/.test(req.headers.authorization ?? '')) {
        const error = armError(401, 'AuthenticationFailed', 'Authentication failed. The Authorization header is missing.');
        send(res, error.status, error.body);
        return;
      }
      if (!url.searchParams.get('api-version')) {
        const error = armError(400, 'MissingApiVersionParameter', "The api-version query parameter (?api-version=) is required for all requests.");
        send(res, error.status, error.body);
        return;
      }

      if (PERMISSIONS_PATH.test(path) && method === 'GET') {
        // Microsoft.Authorization has its own api-versions; the APIM one is refused as ARM refuses it.
        const version = url.searchParams.get('api-version');
        if (!['2015-07-01', '2018-01-01-preview', '2022-04-01', '2022-05-01-preview'].includes(version ?? '')) {
          const error = armError(400, 'InvalidApiVersionParameter', `The api-version '${version}' is invalid. The supported versions are '2022-05-01-preview,2022-04-01,2018-01-01-preview,2015-07-01'.`);
          send(res, error.status, error.body);
          return;
        }
        send(res, 200, { value: fake.permissions.map((entry) => ({ actions: [...entry.actions], notActions: [...entry.notActions], dataActions: [], notDataActions: [] })) });
        return;
      }

      const policyMatch = POLICY_PATH.exec(path);
      if (policyMatch && method === 'GET') {
        const xml = policies.get(policyMatch[4]!.toLowerCase());
        if (xml === undefined) {
          const error = armError(404, 'ResourceNotFound', 'Policy configuration not found.');
          send(res, error.status, error.body);
          return;
        }
        send(res, 200, {
          id: path,
          type: 'Microsoft.ApiManagement/service/apis/policies',
          name: 'policy',
          properties: { format: url.searchParams.get('format') ?? 'xml', value: xml },
        });
        return;
      }

      const match = BACKEND_PATH.exec(path);
      if (!match) {
        const error = armError(404, 'InvalidResourceType', `No route for ${method} ${path}`);
        send(res, error.status, error.body);
        return;
      }
      const [, subscriptionId, resourceGroup, serviceName, backendId] = match;
      const servicePrefix = `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.ApiManagement/service/${serviceName}`;
      const key = backendId!.toLowerCase();
      const stored = backends.get(key);
      const toResource = (name: string, entryToShow: StoredBackend): unknown => ({
        id: `${servicePrefix}/backends/${name}`,
        type: 'Microsoft.ApiManagement/service/backends',
        name,
        // ARM returns extra and null fields the deployer must normalise away.
        properties: {
          title: null,
          description: null,
          url: null,
          protocol: null,
          credentials: null,
          tls: { validateCertificateChain: true, validateCertificateName: true },
          ...entryToShow.properties,
        },
      });

      if (method === 'GET') {
        if (!stored) {
          const error = armError(404, 'ResourceNotFound', `Backend not found.`);
          send(res, error.status, error.body);
          return;
        }
        send(res, 200, toResource(backendId!, stored), { ETag: stored.etag });
        return;
      }
      if (method === 'DELETE') {
        const ifMatch = req.headers['if-match'];
        if (!ifMatch) {
          const error = armError(400, 'InvalidRequest', 'If-Match header is required.');
          send(res, error.status, error.body);
          return;
        }
        if (!stored) {
          res.writeHead(204).end();
          return;
        }
        backends.delete(key);
        res.writeHead(200).end();
        return;
      }
      if (method === 'PUT') {
        const ifMatch = req.headers['if-match'];
        if (ifMatch !== undefined && ifMatch !== '*' && (!stored || stored.etag !== ifMatch)) {
          const error = armError(412, 'PreconditionFailed', 'The resource was modified since it was read (ETag mismatch).');
          send(res, error.status, error.body);
          return;
        }
        const properties = (body as { properties?: Record<string, unknown> } | undefined)?.properties;
        const invalid = validateBackend(properties, servicePrefix, backends);
        if (invalid) {
          // APIM's shape: a generic top message, the field and its reason in error.details[].
          send(res, 400, {
            error: {
              code: 'ValidationError',
              message: 'One or more fields contain incorrect values:',
              details: [{ code: 'ValidationError', target: invalid.target, message: invalid.message }],
            },
          });
          return;
        }
        const etag = nextEtag();
        const created = !stored;
        backends.set(key, { properties: properties!, etag });
        send(res, created ? 201 : 200, toResource(backendId!, { properties: properties!, etag }), { ETag: etag });
        return;
      }
      const error = armError(405, 'MethodNotAllowed', `${method} is not supported`);
      send(res, error.status, error.body);
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const rest: Omit<FakeArmServer, 'permissions'> = {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    backends,
    policies,
    script(entry) {
      scripts.push({ ...entry, times: entry.times ?? 1 });
    },
    seed(name, properties) {
      backends.set(name.toLowerCase(), { properties, etag: nextEtag() });
    },
    edit(name, change) {
      const stored = backends.get(name.toLowerCase());
      if (!stored) {
        throw new Error(`no backend ${name} to edit`);
      }
      change(stored.properties);
      stored.etag = nextEtag();
    },
    calls() {
      return requests.map((request) => `${request.method} ${request.path.slice(request.path.lastIndexOf('/') + 1)}`);
    },
    clearRequests() {
      requests.length = 0;
    },
    reset() {
      requests.length = 0;
      scripts.length = 0;
      backends.clear();
      policies.clear();
      fake.permissions = contributor();
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return Object.assign(fake, rest);
}

/**
 * The service's rules for a backend body (2024-05-01): a pool has `type: 'Pool'`, no url/protocol
 * ("Url is not supported for backend pool."), 1+ members by full ARM id of an existing single backend,
 * priority/weight integers 0–100; a single backend has url (1–2000) and protocol http|soap, and at most
 * one circuit-breaker rule.
 */
function validateBackend(
  properties: Record<string, unknown> | undefined,
  servicePrefix: string,
  backends: Map<string, StoredBackend>,
): { target: string; message: string } | undefined {
  const message = validateBackendText(properties, servicePrefix, backends);
  if (message === undefined) return undefined;
  const target = /^(pool\.services|priority|weight|Pool member|Backend '|A pool)/.test(message) ? 'pool' : /^Url/.test(message) ? 'url' : message.split(' ')[0]!;
  return { target, message };
}

function validateBackendText(
  properties: Record<string, unknown> | undefined,
  servicePrefix: string,
  backends: Map<string, StoredBackend>,
): string | undefined {
  if (!properties || typeof properties !== 'object') {
    return 'properties is required.';
  }
  if (properties.type === 'Pool') {
    if (properties.url != null || properties.protocol != null) {
      return 'Url is not supported for backend pool.';
    }
    const services = (properties.pool as { services?: unknown[] } | undefined)?.services;
    if (!Array.isArray(services) || services.length < 1) {
      return 'pool.services must have at least one item.';
    }
    for (const service of services as { id?: unknown; priority?: unknown; weight?: unknown }[]) {
      if (typeof service.id !== 'string' || !service.id.toLowerCase().startsWith(`${servicePrefix.toLowerCase()}/backends/`)) {
        return `Pool member id '${String(service.id)}' is not the ARM id of a backend of this service.`;
      }
      const member = backends.get(service.id.slice(service.id.lastIndexOf('/') + 1).toLowerCase());
      if (!member) {
        return `Backend '${service.id}' does not exist.`;
      }
      if (member.properties.type === 'Pool') {
        return 'A pool cannot contain a pool.';
      }
      for (const field of ['priority', 'weight'] as const) {
        const value = service[field];
        if (value !== undefined && value !== null && !(Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 100)) {
          return `${field} must be an integer between 0 and 100.`;
        }
      }
    }
    return undefined;
  }
  if (typeof properties.url !== 'string' || properties.url.length < 1 || properties.url.length > 2000) {
    return 'url is required (1–2000 characters).';
  }
  if (properties.protocol !== 'http' && properties.protocol !== 'soap') {
    return 'protocol must be http or soap.';
  }
  const rules = (properties.circuitBreaker as { rules?: unknown[] } | undefined)?.rules;
  if (Array.isArray(rules) && rules.length > 1) {
    return 'Only one circuit breaker rule is supported.';
  }
  return undefined;
}
