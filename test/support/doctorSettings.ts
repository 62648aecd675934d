import path from 'node:path';

/** The lab pool definition, as POOL_DEFINITION_PATH. */
export const LAB_POOL = path.resolve(__dirname, '..', '..', 'examples', 'lab-pool.json');

/** Settings for a doctor run against a loopback gateway and a fake ARM endpoint (the lab's APIM location). */
export function doctorSettings(gatewayUrl: string, armEndpoint: string, subscriptionKey: string): Record<string, string> {
  return {
    APIM_GATEWAY_URL: gatewayUrl,
    APIM_SUBSCRIPTION_KEY: subscriptionKey,
    POOL_DEFINITION_PATH: LAB_POOL,
    ARM_ENDPOINT: armEndpoint,
    APIM_API_ID: 'openai',
    APIM_SUBSCRIPTION_ID: '00000000-0000-0000-0000-000000000000',
    APIM_RESOURCE_GROUP: 'rg-apim-lab',
    APIM_SERVICE_NAME: 'apim-nov26',
  };
}
