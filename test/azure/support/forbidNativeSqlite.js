// Preloaded into azure-environment app processes: resolving `better-sqlite3` (the native SQLite addon) throws, as
// it would in a package built without it. Any code path of the azure environment that needs it fails loudly.
const Module = require('node:module');

const originalResolve = Module._resolveFilename;
Module._resolveFilename = function resolveFilename(request, ...rest) {
  if (request === 'better-sqlite3' || /[\\/]better-sqlite3[\\/]/.test(request)) {
    throw new Error('better-sqlite3 must not be loaded in the azure environment (forbidden by forbidNativeSqlite.js)');
  }
  return originalResolve.call(this, request, ...rest);
};
