import type { TokenCredential } from '@azure/core-auth';
import type { Settings } from '../lib/config/types';
import { createAccessLogAttemptSource } from '../lib/gatewayAttempts/createAccessLogAttemptSource';
import { createGatewayLogsAttemptSource } from '../lib/gatewayAttempts/createGatewayLogsAttemptSource';
import type { GatewayAttemptSource } from '../lib/gatewayAttempts/types';
import { createLogsQueryClient } from '../lib/telemetry/createLogsQueryClient';

/** What {@link createGatewayAttemptSource} chooses from. */
export interface GatewayAttemptSourceInputs {
  readonly settings: Settings;
  /** The app probes the embedded emulator it started or was given (no APIM_GATEWAY_URL). */
  readonly onEmulator: boolean;
  readonly gatewayUrl: string;
  /** For Azure Monitor Logs. */
  readonly credential: TokenCredential;
  /** The APIM API id (`ApiId` of the gateway logs), when known. */
  readonly apiId: string | undefined;
  /** On an emulator hosting one API per pool (a fleet): count only this pool's API (its path). */
  readonly emulatorApiPath?: string | undefined;
}

/**
 * Where the report reads the gateway's own record of its backend calls (issue 16):
 * - on the embedded emulator: its access log, over its control API on the gateway's origin (`/_emulator`);
 * - with ALL_TRAFFIC_SOURCE=gateway-logs: APIM's gateway logs in LOGS_WORKSPACE_ID (GATEWAY_LOGS_TABLE);
 * - otherwise none (undefined): a real gateway's calls are known only from its logs.
 */
export function createGatewayAttemptSource(inputs: GatewayAttemptSourceInputs): GatewayAttemptSource | undefined {
  const { settings } = inputs;
  if (inputs.onEmulator) {
    return createAccessLogAttemptSource({ controlUrl: new URL('/_emulator', inputs.gatewayUrl).href, ...(inputs.emulatorApiPath === undefined ? {} : { api: inputs.emulatorApiPath }) });
  }
  const workspaceId = settings.telemetry.workspaceId;
  if (settings.telemetry.allTrafficSource !== 'gateway-logs' || workspaceId === undefined) return undefined;
  return createGatewayLogsAttemptSource({
    client: createLogsQueryClient({ credential: inputs.credential, endpoint: settings.telemetry.logsEndpoint }),
    workspaceId,
    table: settings.telemetry.gatewayLogsTable,
    ...(inputs.apiId === undefined ? {} : { apiId: inputs.apiId }),
    timeoutInMs: settings.telemetry.logsQueryTimeoutInMs,
    shareForMs: settings.telemetry.reportCacheInSeconds * 1000,
  });
}
