import { cellBoolean, cellCount, cellEpochMs, cellNumber, cellText, readLogsTable } from '../../../src/lib/telemetry/readLogsTable';

describe('readLogsTable', () => {
  it('keys each row by column name, whatever the column order', () => {
    const rows = readLogsTable({
      name: 'PrimaryResult',
      columnDescriptors: [
        { name: 'probes', type: 'long' },
        { name: 'backend', type: 'string' },
      ],
      rows: [
        ['12', 'openai-instance1'],
        [3, 'openai-instance2'],
      ],
    });
    expect(rows).toEqual([
      { probes: '12', backend: 'openai-instance1' },
      { probes: 3, backend: 'openai-instance2' },
    ]);
    expect(readLogsTable(undefined)).toEqual([]);
  });
});

describe('cell coercion', () => {
  it('reads numbers sent as numbers or as strings, and nothing else', () => {
    expect(cellNumber(12)).toBe(12);
    expect(cellNumber('12')).toBe(12);
    expect(cellNumber(' 870.25 ')).toBe(870.25);
    expect(cellNumber('')).toBeNull();
    expect(cellNumber('NaN')).toBeNull();
    expect(cellNumber(null)).toBeNull();
    expect(cellNumber(Number.POSITIVE_INFINITY)).toBeNull();
    expect(cellNumber({})).toBeNull();
  });

  it('reads counts as non-negative numbers, 0 when absent', () => {
    expect(cellCount('7')).toBe(7);
    expect(cellCount(null)).toBe(0);
    expect(cellCount(-3)).toBe(0);
  });

  it('reads datetimes from a Date, ISO text or epoch ms', () => {
    const ms = Date.UTC(2026, 10, 25, 1, 5);
    expect(cellEpochMs(new Date(ms))).toBe(ms);
    expect(cellEpochMs(new Date(ms).toISOString())).toBe(ms);
    expect(cellEpochMs(ms)).toBe(ms);
    expect(cellEpochMs('yesterday-ish')).toBeNull();
    expect(cellEpochMs(new Date(Number.NaN))).toBeNull();
    expect(cellEpochMs(null)).toBeNull();
  });

  it('reads booleans the ways the service writes them', () => {
    for (const yes of [true, 1, 'true', 'True', '1']) expect(cellBoolean(yes)).toBe(true);
    for (const no of [false, 0, 'false', 'False', '', null, undefined, 'yes']) expect(cellBoolean(no)).toBe(false);
  });

  it('reads text, with null as empty', () => {
    expect(cellText('West US')).toBe('West US');
    expect(cellText(null)).toBe('');
    expect(cellText(429)).toBe('429');
  });
});
