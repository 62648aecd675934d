import { encodePoolRunMessage, parsePoolRunMessage, toTriggerValue, tryDecodePoolRunMessage, tryDecodeQueueText } from '../../../src/lib/queue/poolRunMessage';
import { DEFAULT_QUEUE_HOST_OPTIONS, queueHostOptionsFrom } from '../../../src/lib/queue/queueHostOptions';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const RUN = { pool: 'openai-pool', service: 'apim-lab-01', tick: '2026-12-01T06:00:00.000Z' };

describe('pool run messages', () => {
  it('are Base64 JSON on the wire and decode back to the same message', () => {
    const text = encodePoolRunMessage(RUN);
    expect(text).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(JSON.parse(Buffer.from(text, 'base64').toString('utf8'))).toEqual(RUN);
    expect(tryDecodePoolRunMessage(text)).toEqual(RUN);
  });

  it('accept what the Node.js worker hands a handler: the parsed object or the JSON text', () => {
    expect(parsePoolRunMessage(RUN)).toEqual({ ok: true, message: RUN });
    expect(parsePoolRunMessage(JSON.stringify(RUN))).toEqual({ ok: true, message: RUN });
  });

  it.each([
    ['a text that is not JSON', 'hello', /not JSON/],
    ['an array', [RUN], /^\$ must be object/],
    ['a missing tick', { pool: 'p', service: 's' }, /^\$ must have required property 'tick'/],
    ['an unknown key', { ...RUN, extra: 1 }, /additional properties \(extra\)/],
    ['a pool name with a slash', { ...RUN, pool: 'a/b' }, /^\$\.pool must match pattern/],
    ['a pool name of 81 characters', { ...RUN, pool: 'p'.repeat(81) }, /^\$\.pool must NOT have more than 80 characters/],
    ['a tick without a zone', { ...RUN, tick: '2026-12-01T06:00:00' }, /^\$\.tick must/],
    ['a tick on 30 February', { ...RUN, tick: '2026-02-30T06:00:00Z' }, /^\$\.tick is not an existing instant/],
    ['a control character in the service', { ...RUN, service: 'a\u0007b' }, /^\$\.service must match pattern/],
  ])('refuse %s, naming the field', (_, value, reason) => {
    const parsed = parsePoolRunMessage(value);
    expect(parsed.ok).toBe(false);
    expect(parsed.ok ? '' : parsed.reason).toMatch(reason);
  });

  it('refuse to encode an invalid message, naming the field', () => {
    expect(() => encodePoolRunMessage({ ...RUN, pool: '' })).toThrow(/\$\.pool/);
  });

  it('decode Base64 strictly, as the queue trigger does, and UTF-8 strictly', () => {
    expect(tryDecodeQueueText(Buffer.from('{"a":1}').toString('base64'), 'base64')).toBe('{"a":1}');
    expect(tryDecodeQueueText('{"a":1}', 'base64')).toBeUndefined();
    expect(tryDecodeQueueText('abc', 'base64')).toBeUndefined();
    expect(tryDecodeQueueText(Buffer.from([0xff, 0xfe, 0xfd]).toString('base64'), 'base64')).toBeUndefined();
    expect(tryDecodeQueueText('plain', 'none')).toBe('plain');
    expect(tryDecodeQueueText('A'.repeat(64 * 1024 + 4), 'base64')).toBeUndefined();
  });

  it('hand the handler an object when the text is JSON, else the text (the worker\'s tryJsonParse)', () => {
    expect(toTriggerValue('{"a":1}')).toEqual({ a: 1 });
    expect(toTriggerValue('not json')).toBe('not json');
  });
});

describe('queue host options', () => {
  it('default as the queue extension does', () => {
    expect(queueHostOptionsFrom({ version: '2.0' })).toEqual(DEFAULT_QUEUE_HOST_OPTIONS);
    expect(queueHostOptionsFrom({ extensions: { queues: { batchSize: 10 } } }).newBatchThreshold).toBe(5);
  });

  it('read the repository host.json: 5 attempts, 30 s between retries, batches of 16, Base64', () => {
    const hostJson = JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'host.json'), 'utf8')) as unknown;
    expect(queueHostOptionsFrom(hostJson)).toEqual({
      batchSize: 16,
      newBatchThreshold: 8,
      maxDequeueCount: 5,
      visibilityTimeoutInMs: 30_000,
      maxPollingIntervalInMs: 10_000,
      messageEncoding: 'base64',
    });
  });

  it.each([
    [{ batchSize: 33 }, /\$\.extensions\.queues\.batchSize must be an integer from 1 to 32/],
    [{ maxDequeueCount: 0 }, /maxDequeueCount must be an integer from 1/],
    [{ visibilityTimeout: '30s' }, /visibilityTimeout must be a time span/],
    [{ maxPollingInterval: 50 }, /maxPollingInterval must be at least 100 ms/],
    [{ messageEncoding: 'utf8' }, /messageEncoding must be "base64" or "none"/],
  ])('refuse %j, naming the JSON path', (queues, message) => {
    expect(() => queueHostOptionsFrom({ extensions: { queues } })).toThrow(message);
  });

  it('read time spans with days and fractions, and polling intervals in milliseconds', () => {
    const options = queueHostOptionsFrom({ extensions: { queues: { visibilityTimeout: '1.02:03:04.5', maxPollingInterval: 2000 } } });
    expect(options.visibilityTimeoutInMs).toBe(((26 * 60 + 3) * 60 + 4) * 1000 + 500);
    expect(options.maxPollingIntervalInMs).toBe(2000);
  });
});
