/* eslint-disable @typescript-eslint/no-require-imports */
// The language service is a Bridge.NET build: it installs `Bridge` and `Kusto` as globals when required.
// The minified builds load in a third of the time; the first analysis still takes seconds (the global
// function table is built once per process), so only one test file uses the language service.
require('@kusto/language-service-next/bridge.min.js');
require('@kusto/language-service-next/Kusto.Language.Bridge.min.js');

interface KustoDiagnostic {
  readonly Severity: string;
  readonly Code: string;
  readonly Message: string;
  readonly Start: number;
}
interface KustoGlobals {
  readonly Kusto: {
    readonly Language: {
      readonly Symbols: {
        readonly TableSymbol: { readonly $ctor7: new (name: string, schema: string, description: string | null) => unknown };
        readonly DatabaseSymbol: { readonly $ctor1: new (name: string, members: unknown[], isOpen: boolean) => unknown };
      };
      readonly GlobalState: { readonly Default: { WithDatabase(db: unknown): unknown } };
      readonly KustoCode: {
        ParseAndAnalyze(text: string, globals: unknown): { GetDiagnostics(): unknown; readonly ResultType: { readonly Columns?: unknown } | null };
        Parse(text: string): { readonly Syntax: unknown };
      };
      readonly Syntax: {
        readonly SyntaxKind: Readonly<Record<string, number>>;
        readonly SyntaxElement: { WalkNodes(root: unknown, action: (node: { Kind: number; LiteralValue: unknown }) => void): void };
      };
    };
  };
  readonly Bridge: { toArray<T>(value: unknown): T[] };
}

const { Kusto, Bridge } = globalThis as unknown as KustoGlobals;
const Language = Kusto.Language;

/**
 * The Application Insights tables the queries use, with the documented columns and types.
 * Classic (App Insights resource) and workspace-based (Log Analytics) flavours.
 */
export const APP_INSIGHTS_TABLES: Readonly<Record<string, string>> = {
  dependencies:
    '(timestamp:datetime, id:string, name:string, target:string, type:string, data:string, resultCode:string, success:bool, duration:real, customDimensions:dynamic, customMeasurements:dynamic, cloud_RoleName:string, cloud_RoleInstance:string, operation_Id:string, itemCount:int)',
  customEvents:
    '(timestamp:datetime, name:string, customDimensions:dynamic, customMeasurements:dynamic, cloud_RoleName:string, cloud_RoleInstance:string, operation_Id:string, itemCount:int)',
  AppDependencies:
    '(TimeGenerated:datetime, Id:string, Name:string, Target:string, DependencyType:string, Data:string, ResultCode:string, Success:bool, DurationMs:real, Properties:dynamic, Measurements:dynamic, AppRoleName:string, AppRoleInstance:string, OperationId:string, ItemCount:int)',
  AppEvents:
    '(TimeGenerated:datetime, Name:string, Properties:dynamic, Measurements:dynamic, AppRoleName:string, AppRoleInstance:string, OperationId:string, ItemCount:int)',
  // Azure Monitor table reference: ApiManagementGatewayLogs (the columns the queries touch, with documented types).
  ApiManagementGatewayLogs:
    '(TimeGenerated:datetime, ApiId:string, OperationId:string, BackendId:string, BackendUrl:string, BackendResponseCode:int, BackendTime:long, ResponseCode:int, IsRequestSuccess:bool, CorrelationId:string, Region:string, TotalTime:long, _ResourceId:string)',
  // AzureDiagnostics is open-ended (columns appear as resources write them): only the fixed ones are declared,
  // so the APIM-specific ones must go through column_ifexists.
  AzureDiagnostics: '(TimeGenerated:datetime, ResourceProvider:string, Category:string, ResourceId:string, OperationName:string)',
};

const database = new Language.Symbols.DatabaseSymbol.$ctor1(
  'appinsights',
  Object.entries(APP_INSIGHTS_TABLES).map(([name, schema]) => new Language.Symbols.TableSymbol.$ctor7(name, schema, null)),
  false,
);
const globals = Language.GlobalState.Default.WithDatabase(database);

/** Parses and analyses `query` against the App Insights schema; returns error-severity diagnostics as text. */
export function kqlErrors(query: string): string[] {
  const code = Language.KustoCode.ParseAndAnalyze(query, globals);
  return Bridge.toArray<KustoDiagnostic>(code.GetDiagnostics())
    .filter((d) => d.Severity === 'Error')
    .map((d) => `${d.Code} ${d.Message} at ${d.Start}: …${query.slice(Math.max(0, d.Start - 20), d.Start + 20)}…`);
}

/** Names and types of the columns the query returns, as the analyser infers them (e.g. `probes:long`). */
export function kqlResultColumns(query: string): string[] {
  const code = Language.KustoCode.ParseAndAnalyze(query, globals);
  const columns = code.ResultType?.Columns;
  if (columns === undefined) return [];
  return Bridge.toArray<{ Name: string; Type: { Name: string } }>(columns).map((column) => `${column.Name}:${column.Type.Name}`);
}

/** The value of the (single) string literal in `print <literal>`, as the Kusto parser decodes it. */
export function decodeStringLiteral(literal: string): unknown {
  const code = Language.KustoCode.Parse(`print ${literal}`);
  const values: unknown[] = [];
  Language.Syntax.SyntaxElement.WalkNodes(code.Syntax, (node) => {
    if (node.Kind === Language.Syntax.SyntaxKind.StringLiteralExpression) values.push(node.LiteralValue);
  });
  return values.length === 1 ? values[0] : values;
}
