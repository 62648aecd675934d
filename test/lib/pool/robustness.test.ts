import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { DefinitionError, parsePoolDefinition, resolvePool } from '../../../src/lib/pool';
import { createRandom as createRandomSource } from '../../../src/lib/stats/random';

/** A seeded uniform stream (mulberry32, shared with the statistics simulations). */
const createRandom = (seed: number): (() => number) => createRandomSource(seed).next;

const labBytes = readFileSync(join(__dirname, '..', '..', '..', 'examples', 'lab-pool.json'));
const strangeValues: unknown[] = [null, -1, 0, 101, 1.5, '', ' ', 'x'.repeat(300), [], {}, true, '__proto__', { pool: {} }];

/** Replaces one random node of a JSON value with a strange value or deletes it. */
function mutate(value: unknown, random: () => number): unknown {
  if (value === null || typeof value !== 'object') {
    return strangeValues[Math.floor(random() * strangeValues.length)];
  }
  const copy: Record<string, unknown> | unknown[] = Array.isArray(value) ? [...value] : { ...(value as object) };
  const keys = Object.keys(copy);
  if (keys.length === 0 || random() < 0.15) {
    return strangeValues[Math.floor(random() * strangeValues.length)];
  }
  const key = keys[Math.floor(random() * keys.length)] ?? '';
  const target = copy as Record<string, unknown>;
  if (random() < 0.1) {
    delete target[key];
  } else {
    target[key] = mutate(target[key], random);
  }
  return copy;
}

/** Runs `action` and returns 'ok' or 'definition-error'; anything else thrown fails the test. */
function outcomeOf(action: () => unknown): 'ok' | 'definition-error' {
  try {
    action();
    return 'ok';
  } catch (error) {
    if (error instanceof DefinitionError) {
      expect(error.issues.length).toBeGreaterThan(0);
      return 'definition-error';
    }
    throw error;
  }
}

describe('bad input never crashes', () => {
  it('answers 3,000 mutated lab documents with a pool or a DefinitionError', () => {
    const random = createRandom(20261125);
    const lab = JSON.parse(labBytes.toString('utf8')) as unknown;
    const outcomes = { ok: 0, 'definition-error': 0 };
    for (let run = 0; run < 3000; run += 1) {
      let document = lab;
      const mutations = 1 + Math.floor(random() * 3);
      for (let step = 0; step < mutations; step += 1) {
        document = mutate(document, random);
      }
      outcomes[outcomeOf(() => resolvePool(document))] += 1;
    }
    // Both kinds occur, so the loop really explores accepted and rejected documents.
    expect(outcomes.ok).toBeGreaterThan(0);
    expect(outcomes['definition-error']).toBeGreaterThan(1000);
  });

  it('answers 3,000 byte-corrupted lab files with a pool or a DefinitionError', () => {
    const random = createRandom(7);
    let rejected = 0;
    for (let run = 0; run < 3000; run += 1) {
      const bytes = Buffer.from(labBytes);
      const flips = 1 + Math.floor(random() * 4);
      for (let flip = 0; flip < flips; flip += 1) {
        bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
      }
      const cut = random() < 0.2 ? Math.floor(random() * bytes.length) : bytes.length;
      if (outcomeOf(() => parsePoolDefinition(bytes.subarray(0, cut))) === 'definition-error') {
        rejected += 1;
      }
    }
    expect(rejected).toBeGreaterThan(1500);
  });
});
