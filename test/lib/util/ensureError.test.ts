import { ensureError } from '../../../src/lib/util/errors';

describe('ensureError', () => {
  it('returns Error instances unchanged', () => {
    const error = new TypeError('boom');
    expect(ensureError(error)).toBe(error);
  });

  it('wraps strings and objects into an Error with a readable message', () => {
    expect(ensureError('plain').message).toBe('plain');
    expect(ensureError({ code: 7 }).message).toBe('{"code":7}');
    expect(ensureError(undefined).message).toBe('undefined');
  });
});

describe('ensureError with errors from another realm', () => {
  it('keeps the message of an error created in a vm context', () => {
    const foreign = require('node:vm').runInNewContext('new TypeError("from elsewhere")') as unknown;
    expect(foreign instanceof Error).toBe(false);
    expect(ensureError(foreign).message).toBe('from elsewhere');
  });
});
