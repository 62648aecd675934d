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
