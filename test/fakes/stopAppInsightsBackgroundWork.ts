import { dirname, join } from 'node:path';

/**
 * Stops the process-wide OneSettings poller of `@azure/monitor-opentelemetry-exporter`. Every exporter starts it
 * (first poll 5–15 s later, to `settings.sdk.monitor.azure.com`) and no option or environment variable turns it
 * off; `close()` of a sink does not stop it because other clients may share it. Tests call this in `afterAll`
 * so nothing leaves loopback after the test file is done. Reaches into the SDK's internal module by path (the
 * package's export map hides it); throws if the SDK's layout changed, so the test notices.
 */
export function stopAppInsightsBackgroundWork(): void {
  const exporterEntry = require.resolve('@azure/monitor-opentelemetry-exporter');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const internal = require(join(dirname(exporterEntry), '_configuration', 'configurationManager.js')) as {
    ConfigurationManager: { getInstance(): { shutdown(): void } };
  };
  internal.ConfigurationManager.getInstance().shutdown();
}
