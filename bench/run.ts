import fs from 'node:fs';
import path from 'node:path';

/**
 * `npm run bench`: runs every benchmark in one process and writes `bench/results.md`.
 * Figures are ratios or curves measured in this one run; nothing here is asserted in `npm test`.
 * `npm run bench -- stats gateway` runs only the named sections.
 */
const SECTIONS: Record<string, string> = {
  stats: './stats',
  verdicts: './verdicts',
  gateway: './gateway',
  store: './store',
  probeLoop: './probeLoop',
  detection: './detection',
  probeCost: './probeCost',
  load: './load',
  'load-while-probing': './loadWhileProbing',
  'unbounded-values': './unboundedValues',
  cliVerify: './cliVerify',
  npxFirstCall: './npxFirstCall',
  reportCache: './reportCache',
  fleet: './fleet',
};

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const names = wanted.length > 0 ? wanted : Object.keys(SECTIONS);
  const parts: string[] = [
    '# Benchmark results',
    '',
    `Produced by \`npm run bench${wanted.length > 0 ? ` -- ${wanted.join(' ')}` : ''}\` on ${new Date().toISOString()} (Node ${process.version}, ${require('node:os').cpus().length} cores).`,
    '',
  ];
  for (const name of names) {
    const modulePath = SECTIONS[name];
    if (!modulePath) {
      console.error(`Unknown benchmark "${name}". Known: ${Object.keys(SECTIONS).join(', ')}`);
      process.exitCode = 3;
      return;
    }
    const started = Date.now();
    console.log(`== ${name} …`);
    try {
      const section = (await import(modulePath)) as { run: () => Promise<string> };
      const text = await section.run();
      parts.push(text.trim(), '', `_(${name}: ${((Date.now() - started) / 1000).toFixed(1)} s)_`, '');
      console.log(text);
    } catch (error) {
      parts.push(`## ${name}`, '', `Failed: ${(error as Error).message}`, '');
      console.error(`${name} failed: ${(error as Error).stack ?? String(error)}`);
      process.exitCode = 1;
    }
  }
  const out = path.resolve(__dirname, '..', '..', 'bench', 'results.md');
  fs.writeFileSync(out, `${parts.join('\n')}\n`);
  console.log(`Wrote ${out}`);
}

void main();
