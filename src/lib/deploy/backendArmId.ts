import type { ApimLocation } from '../pool/types';

/**
 * Full ARM id of a backend of the APIM service at `location`:
 * `/subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.ApiManagement/service/{svc}/backends/{name}`.
 * Pool members must be referenced this way (the short `/backends/<name>` form seen in samples is accepted
 * when read back, never written).
 */
export function backendArmId(location: ApimLocation, backendName: string): string {
  return (
    `/subscriptions/${location.subscriptionId}/resourceGroups/${location.resourceGroup}` +
    `/providers/Microsoft.ApiManagement/service/${location.serviceName}/backends/${backendName}`
  );
}

/**
 * The backend name a pool member id points at, lower-cased (ARM ids are case-insensitive), when the id is
 * the short form or a full id of the same service; otherwise the whole id lower-cased, so that a member of
 * another service never compares equal to a local backend.
 */
export function memberKey(memberId: string, location: ApimLocation | undefined): string {
  const id = memberId.trim().replace(/\/+$/, '').toLowerCase();
  const slash = id.lastIndexOf('/backends/');
  if (slash < 0) {
    return id;
  }
  const name = id.slice(slash + '/backends/'.length);
  const prefix = id.slice(0, slash);
  if (prefix === '') {
    return name;
  }
  if (location === undefined) {
    return /^\/subscriptions\/[^/]+\/resourcegroups\/[^/]+\/providers\/microsoft\.apimanagement\/service\/[^/]+$/.test(prefix)
      ? name
      : id;
  }
  const servicePrefix = backendArmId(location, '').replace(/\/backends\/$/, '').toLowerCase();
  return prefix === servicePrefix ? name : id;
}

/** The last path segment of a member id, as written (for display and for reading the member back). */
export function memberName(memberId: string): string {
  const trimmed = memberId.trim().replace(/\/+$/, '');
  return trimmed.slice(trimmed.lastIndexOf('/') + 1);
}
