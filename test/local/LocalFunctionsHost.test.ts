import type { HttpRequest, InvocationContext, Timer } from '@azure/functions';
import { createFunctionsCoreShim } from '../../src/local/functionsCoreShim';
import { LocalFunctionsHost } from '../../src/local/LocalFunctionsHost';

function hostWithFunctions() {
  const shim = createFunctionsCoreShim();
  const calls: string[] = [];
  shim.registerFunction(
    {
      name: 'echo',
      bindings: {
        httpTrigger1: { type: 'httpTrigger', direction: 'in', route: 'echo', methods: ['GET', 'POST'], authLevel: 'function' },
        $return: { type: 'http', direction: 'out' },
      },
    },
    async (...args: unknown[]) => {
      const request = args[0] as HttpRequest;
      const body = request.method === 'POST' ? await request.text() : '';
      return { status: 201, jsonBody: { method: request.method, q: request.query.get('q'), body }, headers: { 'x-test': 'yes' } };
    },
  );
  shim.registerFunction(
    { name: 'tick', bindings: { timerTrigger1: { type: 'timerTrigger', direction: 'in', schedule: '%TICK_SCHEDULE%' } } },
    async (...args: unknown[]) => {
      const [timer, context] = args as [Timer, InvocationContext];
      calls.push(`tick ${timer.isPastDue} ${context.functionName}`);
    },
  );
  shim.registerHook('appStart', () => {
    calls.push('appStart');
  });
  const lines: string[] = [];
  const host = new LocalFunctionsHost({
    registry: shim.registry,
    port: 0,
    settings: { TICK_SCHEDULE: '0 0 0 1 1 *' },
    log: (line) => lines.push(line),
  });
  return { host, calls, lines };
}

describe('LocalFunctionsHost', () => {
  it('runs appStart hooks before serving, maps /api/<route> to the HTTP function and passes query and body', async () => {
    const { host, calls } = hostWithFunctions();
    await host.start();
    try {
      expect(calls).toEqual(['appStart']);
      const get = await fetch(`${host.baseUrl}/api/echo?q=42`);
      expect(get.status).toBe(201);
      expect(get.headers.get('x-test')).toBe('yes');
      expect(await get.json()).toEqual({ method: 'GET', q: '42', body: '' });
      const post = await fetch(`${host.baseUrl}/api/echo`, { method: 'POST', body: 'hello' });
      expect(await post.json()).toEqual({ method: 'POST', q: null, body: 'hello' });
    } finally {
      await host.stop();
    }
  });

  it('answers 404 for unknown routes and 405 for methods the function does not accept', async () => {
    const { host } = hostWithFunctions();
    await host.start();
    try {
      expect((await fetch(`${host.baseUrl}/api/nothing`)).status).toBe(404);
      expect((await fetch(`${host.baseUrl}/api/echo`, { method: 'DELETE' })).status).toBe(405);
    } finally {
      await host.stop();
    }
  });

  it('resolves %SETTING% in timer schedules and invokes timers with a Timer object on demand', async () => {
    const { host, calls } = hostWithFunctions();
    await host.start();
    try {
      const outcome = await host.invokeTimer('tick');
      expect(outcome.error).toBeUndefined();
      expect(calls).toContain('tick false tick');
    } finally {
      await host.stop();
    }
  });

  it('names the missing app setting when a schedule refers to one that is not set', () => {
    const shim = createFunctionsCoreShim();
    shim.registerFunction({ name: 't', bindings: { trig: { type: 'timerTrigger', direction: 'in', schedule: '%MISSING%' } } }, () => undefined);
    const host = new LocalFunctionsHost({ registry: shim.registry, port: 0, settings: {} });
    const fn = shim.registry.functions.get('t');
    expect(() => fn && host.scheduleOf(fn)).toThrow(/app setting "MISSING"/);
  });

  it('refuses to register two functions with the same name, as the host does', () => {
    const shim = createFunctionsCoreShim();
    const metadata = { name: 'dup', bindings: { trig: { type: 'timerTrigger', direction: 'in', schedule: '* * * * * *' } } };
    shim.registerFunction(metadata, () => undefined);
    expect(() => shim.registerFunction(metadata, () => undefined)).toThrow(/already registered/);
  });
});

/** A host with one HTTP function that answers a 1 MB body only when the test releases it. */
function hostWithSlowResponse(drainTimeoutInMs?: number) {
  const shim = createFunctionsCoreShim();
  let release: () => void = () => undefined;
  const released = new Promise<void>((resolve) => (release = resolve));
  let entered: () => void = () => undefined;
  const inHandler = new Promise<void>((resolve) => (entered = resolve));
  shim.registerFunction(
    {
      name: 'slow',
      bindings: {
        httpTrigger1: { type: 'httpTrigger', direction: 'in', route: 'slow', methods: ['GET'], authLevel: 'function' },
        $return: { type: 'http', direction: 'out' },
      },
    },
    async () => {
      entered();
      await released;
      return { status: 200, body: 'r'.repeat(1024 * 1024) };
    },
  );
  const lines: string[] = [];
  const host = new LocalFunctionsHost({ registry: shim.registry, port: 0, log: (line) => lines.push(line), ...(drainTimeoutInMs !== undefined ? { drainTimeoutInMs } : {}) });
  return { host, release, inHandler, lines };
}

describe('LocalFunctionsHost stopping while a response is in flight', () => {
  it('lets the response finish whole before it closes', async () => {
    const { host, release, inHandler } = hostWithSlowResponse();
    await host.start();
    const response = fetch(`${host.baseUrl}/api/slow`).then(async (r) => (await r.text()).length);
    await inHandler;
    const stopped = host.stop();
    release();
    await expect(response).resolves.toBe(1024 * 1024);
    await stopped;
  });

  it('refuses new connections once stopping', async () => {
    const { host, release, inHandler } = hostWithSlowResponse();
    await host.start();
    const first = fetch(`${host.baseUrl}/api/slow`).then((r) => r.text());
    await inHandler;
    const stopped = host.stop();
    await expect(fetch(`${host.baseUrl}/api/slow`, { headers: { connection: 'close' } })).rejects.toThrow();
    release();
    await first;
    await stopped;
  });

  it('cuts a response that outlasts the drain bound, and says so', async () => {
    const { host, release, inHandler, lines } = hostWithSlowResponse(100);
    await host.start();
    const response = fetch(`${host.baseUrl}/api/slow`).then((r) => r.text());
    await inHandler;
    // stop() also waits for the invocation itself, which ends only when released.
    const stopped = host.stop();
    await expect(response).rejects.toThrow();
    expect(lines.join('\n')).toMatch(/cut 1 response\(s\) still open after 100 ms/);
    release();
    await stopped;
  });
});
