import {
  composeProbeQuery,
  composeTrafficQuery,
  queryNameOf,
  QUERY_COLUMNS,
  TARGET_HOST_REGEX,
  type LogsSchemaFlavour,
  type ProbeQueryName,
  type TrafficQueryName,
} from '../../../src/lib/telemetry/queries';
import { KqlValueError, kqlDatetime, kqlString, kqlTimespanMs } from '../../../src/lib/telemetry/kqlString';
import { composeGatewayAttemptsQuery, GATEWAY_ATTEMPTS_COLUMNS } from '../../../src/lib/gatewayAttempts/gatewayAttemptsQuery';
import { decodeStringLiteral, kqlErrors, kqlResultColumns } from './kustoSchema';

const flavours: LogsSchemaFlavour[] = ['classic', 'workspace'];
const probeQueries: ProbeQueryName[] = ['probeSummary', 'probeLatency', 'probeBins', 'probeRuns', 'runStates'];
const trafficQueries: TrafficQueryName[] = ['trafficSummary', 'trafficLatency', 'trafficBins'];

const probeParameters = {
  // A legal APIM backend id may contain a quote: it must still parse.
  poolName: "pool-o'brien.v2",
  apimService: 'apim-nov26',
  cloudRoleName: 'apim-pool-verifier',
  excludedRunIds: ['run-"quoted"-1', "run-o'brien"],
  binInMs: 300_000,
  windowStartMs: Date.UTC(2026, 10, 25, 1, 0, 0),
  windowEndMs: Date.UTC(2026, 10, 25, 2, 0, 0),
};
const trafficParameters = {
  backendHosts: ['aoai-nov26-instance1.openai.azure.com', 'aoai-nov26-instance2.openai.azure.com'],
  backendIds: ['openai-instance1', 'openai-instance2'],
  apiId: 'azure-openai-api',
  excludeRoleName: 'apim-pool-verifier',
  headerName: 'x-ms-region',
  binInMs: 300_000,
  windowStartMs: Date.UTC(2026, 10, 25, 1, 0, 0),
};

describe('the KQL queries', () => {
  for (const flavour of flavours) {
    for (const name of probeQueries) {
      it(`${name} (${flavour}) parses and binds with zero errors against the App Insights schema`, () => {
        expect(kqlErrors(composeProbeQuery(name, flavour, probeParameters))).toEqual([]);
      });
    }
  }
  for (const source of [...flavours, 'gateway-logs', 'azure-diagnostics'] as const) {
    for (const name of trafficQueries) {
      it(`${name} (${source}) parses and binds with zero errors against the documented schema`, () => {
        expect(kqlErrors(composeTrafficQuery(name, source, trafficParameters))).toEqual([]);
      });
    }
    it(`returns exactly the documented columns from every traffic query (${source})`, () => {
      for (const name of trafficQueries) {
        const names = kqlResultColumns(composeTrafficQuery(name, source, trafficParameters)).map((c) => c.split(':')[0]);
        expect({ name, columns: [...names].sort() }).toEqual({ name, columns: [...QUERY_COLUMNS[name]].sort() });
      }
    });
  }

  it('reports a gateway-logs column that does not exist, so the checks above can fail', () => {
    const good = composeTrafficQuery('trafficSummary', 'gateway-logs', trafficParameters);
    expect(kqlErrors(good.replace('BackendUrl)', 'BackendURI)')).join('\n')).toMatch(/BackendURI/);
  });

  for (const flavour of flavours) {
    it(`returns exactly the documented columns from every query (${flavour})`, () => {
      for (const name of probeQueries) {
        const names = kqlResultColumns(composeProbeQuery(name, flavour, probeParameters)).map((c) => c.split(':')[0]);
        expect({ name, columns: [...names].sort() }).toEqual({ name, columns: [...QUERY_COLUMNS[name]].sort() });
      }
      for (const name of trafficQueries) {
        const names = kqlResultColumns(composeTrafficQuery(name, flavour, trafficParameters)).map((c) => c.split(':')[0]);
        expect({ name, columns: [...names].sort() }).toEqual({ name, columns: [...QUERY_COLUMNS[name]].sort() });
      }
    });
  }

  it('types the counts and times as the reader expects', () => {
    const summary = kqlResultColumns(composeProbeQuery('probeSummary', 'classic', probeParameters));
    expect(summary).toEqual(expect.arrayContaining(['probes:long', 'tokens:long', 'represented:long', 'backend:string']));
    const bins = kqlResultColumns(composeProbeQuery('probeBins', 'workspace', probeParameters));
    expect(bins).toEqual(expect.arrayContaining(['startTime:datetime', 'probes:long']));
    const runs = kqlResultColumns(composeProbeQuery('runStates', 'classic', probeParameters));
    expect(runs).toEqual(expect.arrayContaining(['startedAtMs:long', 'finished:long', 'incomplete:long']));
  });

  it('reports a misspelt column, so the checks above can fail', () => {
    const good = composeProbeQuery('probeSummary', 'classic', probeParameters);
    const typo = good.replace('cloud_RoleName == roleName', 'cloud_Rolename == roleName');
    expect(typo).not.toBe(good);
    expect(kqlErrors(typo).join('\n')).toMatch(/cloud_Rolename/);
  });

  it('reports a classic column used against the workspace table', () => {
    const good = composeProbeQuery('probeBins', 'workspace', probeParameters);
    const wrong = good.replace('tostring(Properties.pool)', 'tostring(customDimensions.pool)');
    expect(kqlErrors(wrong).join('\n')).toMatch(/customDimensions/);
  });

  it('never puts the window into the text except as the datetime literals of the prelude', () => {
    const query = composeProbeQuery('probeSummary', 'classic', probeParameters);
    expect(query).toContain('let windowStart = datetime(2026-11-25T01:00:00.000Z);');
    expect(query).toContain('let windowEnd = datetime(2026-11-25T02:00:00.000Z);');
    expect(query).toContain("let poolName = 'pool-o\\'brien.v2';");
    expect(query).toContain('let binSize = 300000ms;');
  });

  it('extracts the host from every form a dependency target takes', () => {
    // The same pattern runs in Kusto (RE2); this class of pattern reads the same in JavaScript.
    const pattern = new RegExp(TARGET_HOST_REGEX);
    const host = (target: string): string | undefined => pattern.exec(target)?.[1]?.toLowerCase();
    const expected = 'aoai-nov26-instance1.openai.azure.com';
    expect(host('aoai-nov26-instance1.openai.azure.com')).toBe(expected);
    expect(host('aoai-nov26-instance1.openai.azure.com:443')).toBe(expected);
    expect(host('AOAI-nov26-instance1.openai.azure.com | gpt-4o')).toBe(expected);
    expect(host('https://aoai-nov26-instance1.openai.azure.com/openai/deployments/gpt-4o/chat/completions')).toBe(expected);
    expect(composeTrafficQuery('trafficSummary', 'classic', trafficParameters)).toContain(`extract(@'${TARGET_HOST_REGEX}', 1, target)`);
  });

  it('names each query in its first line', () => {
    for (const name of probeQueries) expect(queryNameOf(composeProbeQuery(name, 'workspace', probeParameters))).toBe(name);
    for (const name of trafficQueries) expect(queryNameOf(composeTrafficQuery(name, 'classic', trafficParameters))).toBe(name);
    expect(queryNameOf('dependencies | take 1')).toBeNull();
  });

  it('refuses parameters that cannot be embedded', () => {
    expect(() => composeProbeQuery('probeBins', 'classic', { ...probeParameters, binInMs: 0.5 })).toThrow(KqlValueError);
    expect(() => composeProbeQuery('probeBins', 'classic', { ...probeParameters, poolName: 'a\u0000b' })).toThrow(/pool name/);
    expect(() => composeTrafficQuery('trafficBins', 'classic', { ...trafficParameters, backendHosts: [] })).toThrow(/backend hosts/);
  });
});

// The parser round trips of kqlString live here so the slow language service loads in one test file only.
describe('the gateway-attempts query (issue 16)', () => {
  const parameters = { backendHosts: ['aoai-nov26-instance1.openai.azure.com', "o'brien.example"], backendIds: ['openai-instance1'], apiId: 'azure-openai-api' };
  for (const table of ['resource-specific', 'azure-diagnostics'] as const) {
    it(`is valid KQL over the documented columns and returns exactly the columns the reader checks (${table})`, () => {
      const query = composeGatewayAttemptsQuery(table, parameters);
      expect(kqlErrors(query)).toEqual([]);
      expect(kqlResultColumns(query).sort()).toEqual(
        [...GATEWAY_ATTEMPTS_COLUMNS].map((name) => `${name}:${name === 'targetHost' || name === 'backendId' ? 'string' : 'long'}`).sort(),
      );
    });
  }

  it('reports a misspelt gateway-logs column, so the check above can fail', () => {
    const good = composeGatewayAttemptsQuery('resource-specific', parameters);
    expect(kqlErrors(good.replace('toint(BackendResponseCode)', 'toint(BackendResponseCodes)')).join('\n')).toMatch(/BackendResponseCodes/);
  });
});

describe('kqlString through the Kusto parser', () => {
  const awkward = [
    'openai-instance-backend-pool',
    "o'brien",
    'back\\slash',
    'quote " double',
    "'; customEvents | take 1000000 //",
    'line\nbreak\r\ttab',
    'ünïcødé ✓',
    '',
  ];

  for (const value of awkward) {
    it(`round-trips ${JSON.stringify(value)} through the Kusto parser unchanged`, () => {
      const literal = kqlString(value);
      expect(kqlErrors(`print x = ${literal}`)).toEqual([]);
      expect(decodeStringLiteral(literal)).toBe(value);
    });
  }

  it('keeps an injection attempt inside one literal (the query still has a single statement)', () => {
    const query = `customEvents | where name == ${kqlString("x' or 1 == 1 or name == '")}`;
    expect(kqlErrors(query)).toEqual([]);
    expect(decodeStringLiteral(kqlString("x' or 1 == 1 or name == '"))).toBe("x' or 1 == 1 or name == '");
  });

  it('formats timespan and datetime literals Kusto accepts', () => {
    expect(kqlErrors(`print a = ${kqlTimespanMs(60_000)}, b = ${kqlDatetime(0)}`)).toEqual([]);
  });
});
