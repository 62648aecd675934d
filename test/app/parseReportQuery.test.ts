import { parseReportQuery } from '../../src/app/parseReportQuery';

const q = (params: Record<string, string>) => new URLSearchParams(params);

describe('parseReportQuery', () => {
  it('defaults to JSON and no window override', () => {
    expect(parseReportQuery(q({}), null)).toEqual({ ok: true, window: undefined, format: 'json', pool: undefined, service: undefined, refresh: undefined });
  });

  it('serves HTML to a browser Accept header and when format=html is asked for', () => {
    expect(parseReportQuery(q({}), 'text/html,application/xhtml+xml,*/*;q=0.8')).toMatchObject({ format: 'html' });
    expect(parseReportQuery(q({ format: 'html' }), 'application/json')).toMatchObject({ format: 'html' });
    expect(parseReportQuery(q({}), 'application/json, text/html')).toMatchObject({ format: 'json' });
  });

  it('ignores the function key parameter Azure adds', () => {
    expect(parseReportQuery(q({ code: 'abc==', window: 'day' }), null)).toMatchObject({ ok: true, window: 'day' });
  });

  it('names every bad parameter and what is allowed, and does not echo control characters', () => {
    const result = parseReportQuery(q({ window: 'week', format: 'pdf', pool: 'bad pool\u0000' }), null);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.message).toContain('window "week" is not allowed; use one of: run, hour, day');
    expect(result.message).toContain('format "pdf" is not allowed; use one of: json, html');
    expect(result.message).toContain('pool "bad pool?"');
    expect(result.message).not.toContain('\u0000');
  });

  it('accepts an auto-refresh of 10 to 3600 seconds and refuses anything else, naming the bounds', () => {
    expect(parseReportQuery(q({ refresh: '60', format: 'html' }), null)).toMatchObject({ ok: true, refresh: 60 });
    expect(parseReportQuery(q({ refresh: '10' }), null)).toMatchObject({ ok: true, refresh: 10 });
    expect(parseReportQuery(q({ refresh: '3600' }), null)).toMatchObject({ ok: true, refresh: 3600 });
    for (const bad of ['9', '3601', '0', '-5', '1e3', '60.5', ' 60', 'soon', '99999999999']) {
      const result = parseReportQuery(q({ refresh: bad }), null);
      expect(result).toMatchObject({ ok: false });
      if (!result.ok) expect(result.message).toContain('use a whole number of seconds from 10 to 3600');
    }
  });

  it('accepts a service with a pool: an APIM service name, a host name, or a host with a port', () => {
    for (const service of ['apim-prod', 'a', 'default', 'apim-prod.azure-api.net', '127.0.0.1:7071', 'localhost:80', '[::1]:7071', 'x'.repeat(50)]) {
      expect(parseReportQuery(q({ pool: 'gpt-4o', service }), null)).toMatchObject({ ok: true, pool: 'gpt-4o', service });
    }
  });

  it('refuses a service that is no service name, naming the parameter and what is allowed', () => {
    const tooLong = `${'a'.repeat(63)}.`.repeat(4) + 'com';
    for (const bad of ['', '-apim', 'apim-', 'apim prod', 'apim_prod', 'https://apim.example', 'apim/x', 'a..b', 'host:port', 'host:123456', '<b>', tooLong]) {
      const result = parseReportQuery(q({ pool: 'gpt-4o', service: bad }), null);
      expect({ bad, ok: result.ok }).toEqual({ bad, ok: false });
      if (!result.ok) {
        expect(result.message).toContain('is not a service name: use an APIM service name or the gateway\'s host name (at most 253 characters)');
        expect(result.message.length).toBeLessThan(400);
      }
    }
  });

  it('refuses a service without a pool, naming both', () => {
    const result = parseReportQuery(q({ service: 'apim-prod' }), null);
    expect(result).toEqual({
      ok: false,
      message: "Invalid query: service is only allowed with pool: it says which service's pool to report (use ?pool=<name>&service=<name>).",
    });
  });
});
