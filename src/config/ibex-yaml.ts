// ibex.yaml: providers, model routing, pricing, per-agent settings (issue 13). The public surface of
// src/config/; the gateway imports from here. Format and behaviour: docs/providers.md.
export * from './types.js';
export { ConfigFileError, formatIssue, type ConfigIssue } from './errors.js';
export { CONFIG_FILE_NAME, defaultsFromEnv, findConfigPath, loadIbexYaml, parseIbexYaml } from './load.js';
export { describe, describeProvider, secretsOf } from './describe.js';
export { maskSecret } from './env-refs.js';
export { findProvider, resolveModel } from './resolve-model.js';
export { watchIbexYaml, type WatchOptions } from './watch.js';
