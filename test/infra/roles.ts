/**
 * Built-in Azure role definition ids, by role name, as the docs list them ("Azure built-in roles",
 * https://learn.microsoft.com/azure/role-based-access-control/built-in-roles — each id also on its category page:
 * …/built-in-roles/integration, …/monitor, …/analytics, …/storage, …/security). Checked against those pages when
 * written; the README's roles table repeats it. The tests compare every role assignment of the compiled template
 * with this table, so a GUID typo in infra/main.bicep fails a test instead of granting an unrelated role.
 */
export const BUILT_IN_ROLES = Object.freeze({
  'API Management Service Reader Role': '71522526-b88f-4d52-b57f-d31fc3546d0d', // integration
  'API Management Service Contributor': '312a565d-c81f-4fd8-895a-4e21e48d571c', // integration
  'Log Analytics Reader': '73c42c96-874c-492b-b04d-ab87d138a893', // analytics
  'Monitoring Metrics Publisher': '3913510d-42f4-4e42-8a64-420c390055eb', // monitor
  'Storage Blob Data Owner': 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b', // storage
  'Storage Queue Data Contributor': '974c5e8b-45b9-4653-ba55-5f855dd0fb88', // storage
  'Storage Table Data Contributor': '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3', // storage
  'Key Vault Secrets User': '4633458b-17de-408a-b874-0445c86b69e6', // security
} as const);

/** A role name of {@link BUILT_IN_ROLES}. */
export type BuiltInRoleName = keyof typeof BUILT_IN_ROLES;
