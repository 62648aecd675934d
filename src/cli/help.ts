/** Per-command help and "did you mean" for the CLI. Static text only: `--help` loads nothing else, so it is instant. */

export const COMMANDS = ['verify', 'emulate', 'deploy', 'export'] as const;
export type CommandName = (typeof COMMANDS)[number];

const EXIT_CODES = `Exit codes: 0 consistent with the weights (or command succeeded), 1 drift, failover or outage, 2 inconclusive or no
data, 3 invalid input or configuration, 4 could not run (gateway unreachable, 401/403 from the gateway or a
backend refusing its identity, ARM failure).`;

/** Help per command: what it does, every flag with its default, an example. */
export const COMMAND_HELP: Readonly<Record<CommandName, string>> = {
  verify: `Usage: apim-pool-verifier verify --pool <file|folder> [--pool …] [--gateway <api-base-url>] [options]

One-shot check that a pool follows its weights: sends probes through the gateway, counts which backend answered
each, and judges the split. On a terminal, progress (probes sent, answers per backend, current verdict) is written
to stderr.

Several pools (--pool repeated, or a folder: every *.json directly in it, at most 200): each pool is verified in
turn, through the gateway.url of its definition, and one line per pool is printed (status, pool, APIM service,
health, answers, exit code, file), then a summary; the exit code is the worst of the pools' (3 invalid input >
4 could not run > 1 drift > 2 inconclusive > 0 ok). Pool names must be unique per APIM service.

Gateway: --gateway, allowed with one pool only (it overrides the definition's gateway.url), else the
definition's "gateway": { "url": … }. Subscription key: the environment variable the definition names in
"gateway": { "subscriptionKeySetting": … }, else APIM_SUBSCRIPTION_KEY; never a flag. Every input problem of
every pool (flags, definitions, missing keys) is reported before any probe is sent.

Options:
  --pool <file|folder>   pool definition (JSON) or a folder of them, required, repeatable
  --gateway <url>        the API's base URL on the gateway, e.g. https://apim-x.azure-api.net/openai
                         (required with one pool whose definition has no gateway.url)
  --requests N           most probes to send per pool (default 1000, 1–100000)
  --concurrency C        probes in flight at once (default 16, 1–256)
  --timeout-ms MS        per-probe timeout (default 30000)
  --alpha A              false-alarm rate of the test (default 1e-4)
  --tolerance POINTS     drift (percentage points) tolerated before flagging (default 5)
  --no-early-stop        send all N probes even once the sequential test has decided
  --json                 print the report as JSON on stdout; with several pools the fleet object
                         { schemaVersion: 1, pools: [ { pool, service, file, exitCode, report } ], exitCode }
  -h, --help             this help

Stops early, with the gateway's own message, when the first answers are all the same error (e.g. the pool is
not deployed yet: run "apim-pool-verifier deploy" first).

Examples:
  APIM_SUBSCRIPTION_KEY=... apim-pool-verifier verify --pool examples/lab-pool.json --gateway http://127.0.0.1:8080/openai
  APIM_KEY_GPT4O=... APIM_KEY_EMBED=... apim-pool-verifier verify --pool pools/

${EXIT_CODES}`,
  emulate: `Usage: apim-pool-verifier emulate [options]

Starts only the embedded environment (APIM emulator + simulated Azure OpenAI regions) on loopback and prints its
URLs and key. No Azure is involved. Ctrl+C stops it.

Options:
  --port P                      gateway port (default 8080; 0 picks a free one)
  --pool <file>                 regions and deployment from this definition (default: the lab pool);
                                repeat it for a fleet: one API per pool (the first at /openai, the others at
                                /<pool name> unless the definition's gateway.url gives the path)
  --fault "<region|host>=<f>"   inject a fault, repeatable; <f>: down, failing[:status],
                                throttled:<retry-after-seconds>, slow:<ms>, auth-reject, healthy
  --instances N                 gateway instances (default 1, 1–16)
  --selection S                 weighted-random (default) or smooth-weighted-round-robin
  --duration-seconds S          stop after S seconds (default: run until Ctrl+C)
  --latency-scale X             scale of the simulated Azure OpenAI latency (default 1: median 400 ms,
                                p95 1.2 s; 0 answers at once; at most 10)
  --json                        print the URLs and key as one JSON line
  -h, --help                    this help

Example:
  apim-pool-verifier emulate --port 8080 --fault "East US=throttled:10"`,
  deploy: `Usage: apim-pool-verifier deploy --pool <file> [options]

Deploys the pool definition through ARM: single backends first, then the pool. A loopback --arm-endpoint is the
embedded emulator (no Azure credential is used); any other endpoint uses DefaultAzureCredential, so sign in first
("az login").

Options:
  --pool <file>             pool definition (JSON), required
  --dry-run                 print the plan, change nothing
  --arm-endpoint URL        default $ARM_ENDPOINT or https://management.azure.com
  --subscription-id ID      default $APIM_SUBSCRIPTION_ID or the definition's "apim" section
  --resource-group RG       default $APIM_RESOURCE_GROUP or the definition's "apim" section
  --service-name NAME       default $APIM_SERVICE_NAME or the definition's "apim" section
  --api-version V           ARM api-version (default $ARM_API_VERSION or 2024-05-01)
  --json                    print the outcome as JSON
  -h, --help                this help

Example:
  apim-pool-verifier deploy --pool examples/lab-pool.json --dry-run

${EXIT_CODES}`,
  export: `Usage: apim-pool-verifier export --pool <file> --format bicep|arm [options]

Writes a deployable template equivalent to the definition (to stdout, or to --out).

Options:
  --pool <file>          pool definition (JSON), required
  --format bicep|arm     template language, required
  --out <file>           write here instead of stdout
  --service-name NAME    APIM service the template targets
  -h, --help             this help

Example:
  apim-pool-verifier export --pool examples/lab-pool.json --format bicep --out pool.bicep`,
};

/** True when the arguments ask for help (`-h` or `--help` anywhere before a `--`). */
export function asksForHelp(args: readonly string[]): boolean {
  for (const arg of args) {
    if (arg === '--') return false;
    if (arg === '-h' || arg === '--help') return true;
  }
  return false;
}

/** The command closest to a mistyped one (edit distance ≤ 2, or a unique prefix), if any. */
export function suggestCommand(input: string): CommandName | undefined {
  const typed = input.toLowerCase().slice(0, 40);
  const prefixed = COMMANDS.filter((c) => typed.length >= 2 && c.startsWith(typed));
  if (prefixed.length === 1) return prefixed[0];
  let best: { command: CommandName; distance: number } | undefined;
  for (const command of COMMANDS) {
    const distance = editDistance(typed, command);
    if (distance <= 2 && (!best || distance < best.distance)) best = { command, distance };
  }
  return best?.command;
}

/** Damerau–Levenshtein (optimal string alignment): a swapped pair of letters counts as one edit. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i += 1) {
    for (let j = 1; j <= b.length; j += 1) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}
