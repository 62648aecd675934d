import { hasCredentials, httpUrlProblem, redactUrl } from '../../../src/lib/util/httpUrl';

describe('httpUrlProblem', () => {
  it.each([
    ['https://apim-x.azure-api.net/openai'],
    ['http://127.0.0.1:7071/api'],
    ['http://[::1]:8080/openai'],
    ['https://host/path@not-userinfo'],
    ['https://host?next=a@b'],
  ])('accepts %s', (url) => {
    expect(httpUrlProblem(url)).toBeUndefined();
  });

  it.each([
    ['https:///openai', /must name a host/],
    ['https://', /must name a host/],
    ['https://user:pw@host/x', /credentials/],
    ['https://user@host/x', /credentials/],
    ['https://@host/x', /credentials/],
    ['https:\\\\user:pw@host/x', /credentials/],
    ['ftp://host/x', /absolute http\(s\) URL/],
    ['host/x', /absolute http\(s\) URL/],
    ['https://host/a b', /whitespace or control/],
    ['https://host/\u001b[2J', /whitespace or control/],
  ])('refuses %p', (url, problem) => {
    expect(httpUrlProblem(url)).toMatch(problem);
  });
});

describe('redactUrl', () => {
  it('removes userinfo however it is written, and keeps the rest', () => {
    expect(redactUrl('ftp://user:SECRETPW@host/x')).toBe('ftp://***@host/x');
    expect(redactUrl('https:\\\\user:SECRETPW@host/x')).toBe('https:\\\\***@host/x');
    expect(redactUrl('https://host/path@x')).toBe('https://host/path@x');
  });

  it('replaces what a terminal would act on and bounds the length', () => {
    expect(redactUrl('https://host/\u001b[2J')).toBe('https://host/?[2J');
    expect(redactUrl(`https://host/${'a'.repeat(500)}`)).toHaveLength(100);
  });

  it('agrees with hasCredentials', () => {
    expect(hasCredentials('https://u:p@h')).toBe(true);
    expect(hasCredentials('https://h/p@x')).toBe(false);
  });
});
