#!/usr/bin/env node
'use strict';
// Loads only the CLI's entry module; each command imports what it needs, so `--help` answers in milliseconds.
let cli;
try {
  cli = require('../dist/src/cli/main.js');
} catch (error) {
  if (error && error.code === 'MODULE_NOT_FOUND' && String(error.message).includes('dist/src/cli/main.js')) {
    process.stderr.write('apim-pool-verifier is not built yet: run "npm run build" (or "npm ci", which builds) first.\n');
    process.exit(3);
  }
  throw error;
}
cli.main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
