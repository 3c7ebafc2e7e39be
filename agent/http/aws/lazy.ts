/**
 * The AWS SDK parts of sdk.ts, loaded at their first use: a node that does not sign never loads
 * or runs them (measured: ~30 ms of every start). A require, not an import(): it stays lazy in
 * the bundle and resolves the TypeScript source under the test runner alike.
 */
export function awsSdk(): typeof import('./sdk.js') {
  // The SDK warns on stderr, across several lines, that its releases after January 2027 need
  // Node 22: the agent pins its SDK version, and the warning would break the JSON log.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  return require('./sdk') as typeof import('./sdk.js');
}
