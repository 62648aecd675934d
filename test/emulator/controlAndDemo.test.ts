import { playDemoScenario, startEmbeddedEnvironment, type EmbeddedEnvironment } from '../../src/emulator';
import { chat, deployPool, getJson, LAB_MEMBERS, readJson } from './armClient';

const postJson = async (url: string, body: unknown) => {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, body: await readJson(response) };
};

describe('control API', () => {
  let env: EmbeddedEnvironment;
  beforeAll(async () => {
    env = await startEmbeddedEnvironment({ latencyScale: 0, seed: 3 });
    await deployPool(env, LAB_MEMBERS);
  });
  afterAll(() => env.close());
  afterEach(() => env.faults.heal());

  it('reports resources, faults, the deployed pool and breakers, without the subscription key', async () => {
    await chat(env);
    const state = await getJson(`${env.controlUrl}/state`);
    expect(state.resources.map((resource: { region: string }) => resource.region)).toEqual(['West US', 'East US']);
    expect(state.pool).toEqual({
      name: 'openai-instance-backend-pool',
      type: 'Pool',
      members: [
        { name: 'openai-instance1', url: 'https://aoai-nov26-instance1.openai.azure.com/openai', priority: 1, weight: 2 },
        { name: 'openai-instance2', url: 'https://aoai-nov26-instance2.openai.azure.com/openai', priority: 1, weight: 1 },
      ],
    });
    expect(state.breakers.length).toBeGreaterThan(0);
    expect(JSON.stringify(state)).not.toContain(env.subscriptionKey);
  });

  it('sets a fault by region (object or string form) and heals it', async () => {
    const set = await postJson(`${env.controlUrl}/faults`, { target: 'east us', fault: { kind: 'throttled', retryAfterSeconds: 60 } });
    expect(set.status).toBe(200);
    expect(env.faults.list().find((entry) => entry.region === 'East US')?.fault).toEqual({ kind: 'throttled', retryAfterSeconds: 60 });
    await postJson(`${env.controlUrl}/faults`, { target: 'aoai-nov26-instance1.openai.azure.com', fault: 'failing:502' });
    expect(env.faults.list().find((entry) => entry.region === 'West US')?.fault).toEqual({ kind: 'failing', status: 502 });
    const healed = await postJson(`${env.controlUrl}/heal`, {});
    expect(healed.status).toBe(200);
    expect(env.faults.list().every((entry) => entry.fault.kind === 'healthy')).toBe(true);
  });

  it('answers 400 with a reason for an unknown target or a malformed fault', async () => {
    const unknown = await postJson(`${env.controlUrl}/faults`, { target: 'Mars', fault: { kind: 'down' } });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error).toContain("'Mars'");
    const malformed = await postJson(`${env.controlUrl}/faults`, { target: 'West US', fault: { kind: 'throttled' } });
    expect(malformed.status).toBe(400);
    expect(malformed.body.error).toContain('retry-after seconds');
    expect(() => env.faults.setFault('Mars', { kind: 'down' })).toThrow('Mars');
  });

  it('returns the last N access-log entries with their attempts', async () => {
    env.accessLog.clear();
    await chat(env);
    await chat(env);
    const log = await getJson(`${env.controlUrl}/access-log?limit=1`);
    expect(log.entries).toHaveLength(1);
    expect(log.entries[0]).toMatchObject({ status: 200, attempts: [expect.objectContaining({ status: 200 })] });
    expect((await fetch(`${env.controlUrl}/access-log?limit=-1`)).status).toBe(400);
  });
});

describe('playDemoScenario', () => {
  it('throttles East US, reports the tripped breaker and the shift, heals, and logs one sentence per step', async () => {
    const env = await startEmbeddedEnvironment({ latencyScale: 0, seed: 4 });
    try {
      await deployPool(env, LAB_MEMBERS);
      const sentences: string[] = [];
      // Ten probes after each step, as the verifier's timer would send them.
      await playDemoScenario(env, {
        stepInMs: 1,
        recoveryTimeoutInMs: 0,
        log: (sentence) => {
          sentences.push(sentence);
        },
        afterStep: async () => {
          for (let index = 0; index < 10; index += 1) await chat(env);
        },
      });
      expect(sentences).toHaveLength(6);
      expect(sentences[1]).toContain('East US now answers 429 with Retry-After 60');
      expect(sentences[2]).toContain('openai-instance2');
      expect(sentences[2]).toContain('tripped');
      // The breaker honours the throttle's Retry-After (60 s), so right after healing it is still open.
      expect(sentences[5]).toContain('stays open until its Retry-After ends');
      expect(env.faults.list().every((entry) => entry.fault.kind === 'healthy')).toBe(true);
    } finally {
      await env.close();
    }
  });

  it('reports recovery once every breaker has closed', async () => {
    let time = Date.UTC(2026, 10, 25);
    const env = await startEmbeddedEnvironment({ latencyScale: 0, seed: 4, now: () => time });
    try {
      await deployPool(env, LAB_MEMBERS);
      const sentences: string[] = [];
      await playDemoScenario(env, {
        stepInMs: 1,
        recoveryTimeoutInMs: 5_000,
        log: (sentence) => sentences.push(sentence),
        afterStep: async (step) => {
          for (let index = 0; index < 10; index += 1) await chat(env);
          // After healing (step 5), move the clock past the 60 s Retry-After.
          if (step === 5) time += 61_000;
        },
      });
      expect(sentences[5]).toBe('Step 6: every breaker has closed, so East US gets traffic again.');
    } finally {
      await env.close();
    }
  });

  it('narrates what the verifier observed: drift only once a run after the fault was judged drift, recovery only once the alert state is ok', async () => {
    let time = Date.UTC(2026, 10, 25);
    const env = await startEmbeddedEnvironment({ latencyScale: 0, seed: 4, now: () => time });
    try {
      await deployPool(env, LAB_MEMBERS);
      const sentences: string[] = [];
      // A fake verifier: its runs are judged as the test says, and it is slow (drift seen only on the third look).
      let looks = 0;
      let observation: { latestRun: { startedAtMs: number; verdict: string | null } | null; health: string | null } = { latestRun: null, health: 'ok' };
      await playDemoScenario(env, {
        stepInMs: 20,
        recoveryTimeoutInMs: 5_000,
        log: (sentence) => sentences.push(sentence),
        observe: async () => {
          looks += 1;
          if (sentences.length === 3 && looks >= 3) observation = { latestRun: { startedAtMs: Date.now(), verdict: 'drift' }, health: 'drift' };
          if (sentences.some((t) => t.startsWith('Step 6'))) observation = { ...observation, health: 'ok' };
          return observation;
        },
        afterStep: async (step) => {
          for (let index = 0; index < 10; index += 1) await chat(env);
          if (step === 5) time += 61_000;
        },
      });
      expect(sentences[3]).toMatch(/^Step 4: the verifier flagged drift in the run that started \d+ s after the fault; the report shows the incident\.$/);
      expect(sentences[5]).toBe('Step 6: every breaker has closed, so East US gets traffic again; waiting for the verifier to see it.');
      expect(sentences[6]).toBe('Step 7: the verifier recorded the recovery (clean runs in a row); the incident is closed in the report.');
    } finally {
      await env.close();
    }
  });

  it('says so when the verifier has not flagged the drift within four steps, rather than claiming it did', async () => {
    const env = await startEmbeddedEnvironment({ latencyScale: 0, seed: 4 });
    try {
      await deployPool(env, LAB_MEMBERS);
      const sentences: string[] = [];
      const controller = new AbortController();
      await playDemoScenario(env, {
        stepInMs: 20,
        signal: controller.signal,
        log: (sentence) => {
          sentences.push(sentence);
          if (sentence.startsWith('Step 4')) setImmediate(() => controller.abort());
        },
        observe: async () => ({ latestRun: { startedAtMs: 0, verdict: 'ok' }, health: 'ok' }),
      });
      expect(sentences[3]).toMatch(/^Step 4: the verifier has not flagged drift in the \d+ s since the fault/);
    } finally {
      await env.close();
    }
  });

  it('stops on the signal and heals every region', async () => {
    const env = await startEmbeddedEnvironment({ latencyScale: 0 });
    try {
      const controller = new AbortController();
      const sentences: string[] = [];
      const demo = playDemoScenario(env, {
        stepInMs: 60_000,
        signal: controller.signal,
        log: (sentence) => {
          sentences.push(sentence);
          if (sentence.startsWith('Step 1')) {
            setImmediate(() => controller.abort());
          }
        },
      });
      await demo;
      expect(sentences).toEqual([expect.stringContaining('Step 1'), 'Demo stopped; every region was healed.']);
      expect(env.faults.list().every((entry) => entry.fault.kind === 'healthy')).toBe(true);
    } finally {
      await env.close();
    }
  });
});
