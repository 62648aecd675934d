import { dirname, join } from 'node:path';

interface SettingsPoller {
  worker?: unknown;
  shutdown(): void;
}

function settingsPoller(): SettingsPoller {
  const exporterEntry = require.resolve('@azure/monitor-opentelemetry-exporter');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const internal = require(join(dirname(exporterEntry), '_configuration', 'configurationManager.js')) as {
    ConfigurationManager: { getInstance(): SettingsPoller };
  };
  return internal.ConfigurationManager.getInstance();
}

/**
 * Stops the process-wide OneSettings poller of `@azure/monitor-opentelemetry-exporter`. Every exporter starts it
 * (first poll 5–15 s later, to `settings.sdk.monitor.azure.com`) and no option or environment variable turns it
 * off; `close()` of a sink does not stop it because other clients may share it. Tests call this once their
 * sinks exist so nothing leaves loopback. Reaches into the SDK's internal module by path (the package's export
 * map hides it) and throws if that no longer works, so the tests notice an SDK change.
 * @returns whether a poller was running.
 */
export function stopAppInsightsBackgroundWork(): boolean {
  const poller = settingsPoller();
  const wasRunning = poller.worker !== undefined;
  poller.shutdown();
  if (poller.worker !== undefined) {
    throw new Error('The App Insights settings poller did not stop; the SDK internals changed');
  }
  return wasRunning;
}
