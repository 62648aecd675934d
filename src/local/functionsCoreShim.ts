import Module from 'node:module';

/**
 * A stand-in for the Functions host's `@azure/functions-core` module, so that `@azure/functions` registers the
 * app's functions for real (with full binding metadata) instead of switching to test mode.
 *
 * Why: Azure Functions Core Tools cannot be installed here (its install step downloads a binary), yet users and
 * tests must run the very functions Azure runs. `@azure/functions` looks for `@azure/functions-core` once, at its
 * first registration; when it finds this module it calls `setProgrammingModel`, `registerFunction(metadata,
 * handler)` and `registerHook(name, callback)` exactly as it does under the real host.
 */

/** A binding as `@azure/functions` describes it to the host (`toCoreFunctionMetadata`). */
export interface CapturedBinding {
  readonly type: string;
  readonly direction: string;
  readonly route?: string;
  readonly methods?: readonly string[];
  readonly authLevel?: string;
  readonly schedule?: string;
  readonly runOnStartup?: boolean;
  readonly [key: string]: unknown;
}

export interface CapturedFunction {
  readonly name: string;
  readonly bindings: Readonly<Record<string, CapturedBinding>>;
  /** The handler exactly as the app registered it: `(trigger, context) => result`. */
  readonly handler: (...args: unknown[]) => unknown;
}

export type HookName = 'appStart' | 'appTerminate' | 'preInvocation' | 'postInvocation' | 'log';

/** What the shim captured. */
export interface FunctionsRegistry {
  readonly functions: Map<string, CapturedFunction>;
  readonly hooks: Map<string, ((context: unknown) => unknown)[]>;
  programmingModel: unknown;
}

/** The core API surface `@azure/functions` 4.x uses. */
export interface FunctionsCoreShim {
  readonly registry: FunctionsRegistry;
  setProgrammingModel(model: unknown): void;
  getProgrammingModel(): unknown;
  registerFunction(metadata: { name: string; bindings: Record<string, CapturedBinding> }, handler: (...args: unknown[]) => unknown): { dispose(): void };
  registerHook(name: string, callback: (context: unknown) => unknown): { dispose(): void };
  log(level: string, category: string, message: string): void;
}

/** Creates a shim with an empty registry. `log` lines from the library go to `logLine`. */
export function createFunctionsCoreShim(logLine: (line: string) => void = () => undefined): FunctionsCoreShim {
  const registry: FunctionsRegistry = { functions: new Map(), hooks: new Map(), programmingModel: undefined };
  return {
    registry,
    setProgrammingModel(model) {
      registry.programmingModel = model;
    },
    getProgrammingModel() {
      return registry.programmingModel;
    },
    registerFunction(metadata, handler) {
      if (registry.functions.has(metadata.name)) {
        throw new Error(`A function named "${metadata.name}" is already registered.`);
      }
      registry.functions.set(metadata.name, { name: metadata.name, bindings: metadata.bindings, handler });
      return { dispose: () => registry.functions.delete(metadata.name) };
    },
    registerHook(name, callback) {
      const list = registry.hooks.get(name) ?? [];
      list.push(callback);
      registry.hooks.set(name, list);
      return {
        dispose: () => {
          const index = list.indexOf(callback);
          if (index >= 0) list.splice(index, 1);
        },
      };
    },
    log(level, category, message) {
      logLine(`[${level}] ${category}: ${message}`);
    },
  };
}

/** The process-wide shim used by the local host (`npm start`) and by tests that `jest.mock` the core module. */
export const sharedFunctionsCoreShim: FunctionsCoreShim = createFunctionsCoreShim();

let installed = false;

/**
 * Makes `require('@azure/functions-core')` return `sharedFunctionsCoreShim` in this Node.js process.
 * Must run before `@azure/functions` registers its first function. Idempotent.
 */
export function installFunctionsCoreShim(): FunctionsCoreShim {
  if (installed) return sharedFunctionsCoreShim;
  const moduleWithLoad = Module as unknown as { _load: (request: string, parent: unknown, isMain: boolean) => unknown };
  const originalLoad = moduleWithLoad._load;
  moduleWithLoad._load = function load(request: string, parent: unknown, isMain: boolean): unknown {
    if (request === '@azure/functions-core') return sharedFunctionsCoreShim;
    return originalLoad.call(this, request, parent, isMain);
  };
  installed = true;
  return sharedFunctionsCoreShim;
}

/** The trigger binding of a captured function. */
export function triggerOf(fn: CapturedFunction): CapturedBinding {
  const trigger = Object.values(fn.bindings).find((binding) => /trigger$/i.test(binding.type));
  if (!trigger) throw new Error(`Function "${fn.name}" has no trigger binding.`);
  return trigger;
}
