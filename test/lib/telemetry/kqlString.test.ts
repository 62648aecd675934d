import { KqlValueError, kqlDatetime, kqlString, kqlTimespanMs } from '../../../src/lib/telemetry/kqlString';

describe('kqlString', () => {
  it('quotes and escapes backslash, quote, CR, LF and tab', () => {
    expect(kqlString("a'b\\c\nd\re\tf")).toBe("'a\\'b\\\\c\\nd\\re\\tf'");
    expect(kqlString('plain')).toBe("'plain'");
  });

  it('refuses control characters and very long values, naming the parameter but not the value', () => {
    expect(() => kqlString('a\u0000b', 'pool name')).toThrow(KqlValueError);
    expect(() => kqlString('a\u0000b', 'pool name')).toThrow(/pool name/);
    expect(() => kqlString('x'.repeat(1025))).toThrow(/1024/);
    let caught: unknown;
    try {
      kqlString('secret\u0007value', 'role name');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(KqlValueError);
    expect((caught as KqlValueError).parameter).toBe('role name');
    expect((caught as Error).message).not.toContain('secret');
  });
});

describe('kqlTimespanMs and kqlDatetime', () => {
  it('format whole milliseconds and UTC instants that Kusto accepts', () => {
    expect(kqlTimespanMs(300_000)).toBe('300000ms');
    expect(kqlDatetime(Date.UTC(2026, 10, 25, 1, 2, 3, 4))).toBe('datetime(2026-11-25T01:02:03.004Z)');
  });

  it('refuse anything but whole, positive, finite numbers', () => {
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => kqlTimespanMs(bad)).toThrow(KqlValueError);
    }
    for (const bad of [-1, 1.5, Number.NaN, 1e20]) {
      expect(() => kqlDatetime(bad)).toThrow(KqlValueError);
    }
  });
});
