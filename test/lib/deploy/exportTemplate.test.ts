import { exportTemplate } from '../../../src/lib/deploy/exportTemplate';
import { toBackendProperties } from '../../../src/lib/deploy/toArmBodies';
import { makeBackend, makeLabPool } from './poolFixtures';

const BACKEND_TYPE = 'Microsoft.ApiManagement/service/backends';

interface ArmTemplate {
  $schema: string;
  contentVersion: string;
  parameters: { apimServiceName: { type: string; defaultValue?: string } };
  resources: { type: string; apiVersion: string; name: string; dependsOn?: string[]; properties: Record<string, unknown> }[];
}

/** The backend name an ARM name expression `[format('{0}/{1}', parameters('apimServiceName'), '<name>')]` ends in. */
function nameOf(expression: string): string {
  const match = /^\[format\('\{0\}\/\{1\}', parameters\('apimServiceName'\), '((?:[^']|'')+)'\)\]$/.exec(expression);
  if (!match) throw new Error(`unexpected name expression ${expression}`);
  return match[1]!.replace(/''/g, "'");
}

/** The backend name a `[resourceId('…/backends', parameters('apimServiceName'), '<name>')]` points at. */
function resourceIdName(expression: string): string {
  const match = /^\[resourceId\('Microsoft\.ApiManagement\/service\/backends', parameters\('apimServiceName'\), '((?:[^']|'')+)'\)\]$/.exec(expression);
  if (!match) throw new Error(`unexpected resourceId expression ${expression}`);
  return match[1]!.replace(/''/g, "'");
}

/** The text of `resource <symbol> … = { … }` up to its closing brace at column 0. */
function bicepBlock(text: string, symbol: string): string {
  const start = text.indexOf(`resource ${symbol} `);
  if (start < 0) throw new Error(`no resource ${symbol}`);
  const end = text.indexOf('\n}', start);
  return text.slice(start, end + 2);
}

describe('exportTemplate (ARM JSON)', () => {
  const pool = makeLabPool();
  const template = JSON.parse(exportTemplate(pool, 'arm')) as ArmTemplate;

  it('is a deployment template with the APIM service as a parameter', () => {
    expect(template.$schema).toMatch(/deploymentTemplate\.json#$/);
    expect(template.contentVersion).toBe('1.0.0.0');
    expect(template.parameters.apimServiceName).toMatchObject({ type: 'string', defaultValue: 'apim-nov26' });
  });

  it('declares every single backend with the same properties the deployer sends, then the pool', () => {
    expect(template.resources.map((resource) => [resource.type, resource.apiVersion, nameOf(resource.name)])).toEqual([
      [BACKEND_TYPE, '2024-05-01', 'openai-instance1'],
      [BACKEND_TYPE, '2024-05-01', 'openai-instance2'],
      [BACKEND_TYPE, '2024-05-01', 'openai-instance-backend-pool'],
    ]);
    for (const [index, backend] of pool.backends.entries()) {
      expect(template.resources[index]!.properties).toEqual(toBackendProperties(backend));
    }
  });

  it('builds the pool with type Pool, members by resourceId with the declared weights, no url, and dependsOn its members', () => {
    const poolResource = template.resources[2]!;
    expect(poolResource.properties.type).toBe('Pool');
    expect(poolResource.properties).not.toHaveProperty('url');
    expect(poolResource.properties).not.toHaveProperty('protocol');
    const services = (poolResource.properties.pool as { services: { id: string; priority: number; weight: number }[] }).services;
    expect(services.map((service) => [resourceIdName(service.id), service.priority, service.weight])).toEqual([
      ['openai-instance1', 1, 2],
      ['openai-instance2', 1, 1],
    ]);
    expect(poolResource.dependsOn!.map(resourceIdName)).toEqual(['openai-instance1', 'openai-instance2']);
  });

  it('takes the service name and api-version from the options', () => {
    const other = JSON.parse(exportTemplate(makeLabPool({ apim: undefined }), 'arm', { serviceName: 'apim-x', apiVersion: '2023-09-01-preview' })) as ArmTemplate;
    expect(other.parameters.apimServiceName.defaultValue).toBe('apim-x');
    expect(other.resources.every((resource) => resource.apiVersion === '2023-09-01-preview')).toBe(true);
    const noDefault = JSON.parse(exportTemplate(makeLabPool({ apim: undefined }), 'arm')) as ArmTemplate;
    expect(noDefault.parameters.apimServiceName).not.toHaveProperty('defaultValue');
  });

  it('escapes a service name that ARM would read as an expression (issue 15: "[…]" went through as is)', () => {
    const template = JSON.parse(exportTemplate(makeLabPool({ apim: undefined }), 'arm', { serviceName: "[concat('a','b')]" })) as ArmTemplate;
    // "[[" is ARM's escape for a literal leading "[" (the value then reads "[concat('a','b')]", not "ab").
    expect(template.parameters.apimServiceName.defaultValue).toBe("[[concat('a','b')]");
  });

  it('escapes names and literals that ARM would read as expressions', () => {
    const odd = makeLabPool({
      description: '[not an expression]',
      backends: [makeBackend({ name: "o'brien", weight: 1 }), makeBackend({ name: 'b2', weight: 3, priority: 2 })],
    });
    const parsed = JSON.parse(exportTemplate(odd, 'arm')) as ArmTemplate;
    expect(nameOf(parsed.resources[0]!.name)).toBe("o'brien");
    expect(parsed.resources[2]!.properties.description).toBe('[[not an expression]');
    const services = (parsed.resources[2]!.properties.pool as { services: { id: string; priority: number; weight: number }[] }).services;
    expect(services.map((service) => [resourceIdName(service.id), service.priority, service.weight])).toEqual([
      ["o'brien", 1, 1],
      ['b2', 2, 3],
    ]);
  });

  it('leaves a literal that starts with "[" but does not end with "]" as it is (ARM reads it as a literal)', () => {
    const parsed = JSON.parse(exportTemplate(makeLabPool({ description: '[draft] pool' }), 'arm')) as ArmTemplate;
    expect(parsed.resources[2]!.properties.description).toBe('[draft] pool');
  });
});

describe('exportTemplate (Bicep)', () => {
  const text = exportTemplate(makeLabPool(), 'bicep');

  it('references the existing APIM service', () => {
    expect(text).toContain("param apimServiceName string = 'apim-nov26'");
    expect(text).toMatch(/resource apimService 'Microsoft\.ApiManagement\/service@2024-05-01' existing = \{\n {2}name: apimServiceName\n\}/);
  });

  it('declares each single backend with url, protocol and its breaker rule', () => {
    for (const name of ['openai-instance1', 'openai-instance2']) {
      const block = bicepBlock(text, `backend_${name.replace(/-/g, '_')}`);
      expect(block).toContain(`'${BACKEND_TYPE}@2024-05-01'`);
      expect(block).toContain('parent: apimService');
      expect(block).toContain(`name: '${name}'`);
      expect(block).toContain(`url: 'https://aoai-nov26-${name.replace('openai-', '')}.openai.azure.com/openai'`);
      expect(block).toContain("protocol: 'http'");
      expect(block).toContain(`name: '${name}-breaker'`);
      expect(block).toMatch(/count: 1\n\s+interval: 'PT1M'\n\s+statusCodeRanges: \[\n\s+\{\n\s+min: 429\n\s+max: 429/);
      expect(block).toContain("tripDuration: 'PT1M'");
      expect(block).toContain('acceptRetryAfter: true');
    }
  });

  it('declares the pool with type Pool, members by .id with weights 2 and 1, and no url or protocol', () => {
    const block = bicepBlock(text, 'backendPool');
    expect(block).toContain("name: 'openai-instance-backend-pool'");
    expect(block).toContain("type: 'Pool'");
    expect(block).toMatch(/id: backend_openai_instance1\.id\n\s+priority: 1\n\s+weight: 2/);
    expect(block).toMatch(/id: backend_openai_instance2\.id\n\s+priority: 1\n\s+weight: 1/);
    expect(block).not.toMatch(/\burl:/);
    expect(block).not.toMatch(/\bprotocol:/);
  });

  it('escapes quotes and interpolation in Bicep strings', () => {
    const odd = exportTemplate(makeLabPool({ description: "it's ${not} interpolated" }), 'bicep');
    expect(odd).toContain("description: 'it\\'s \\${not} interpolated'");
  });

  it('rejects an unknown format', () => {
    expect(() => exportTemplate(makeLabPool(), 'yaml' as 'arm')).toThrow(/format must be/);
  });
});
