/**
 * axios, loaded on first use: a command that sends nothing (`once --dry-run` of host metrics)
 * never loads or runs it, and telling an axios error needs no axios. A require, not an
 * import(): it stays synchronous and lazy in the CommonJS bundle (esbuild.config.mjs keeps
 * axios's load from waking Node's fetch).
 */
import type { AxiosError, AxiosStatic } from 'axios';

export function loadAxios(): AxiosStatic {
  // `default` in both of its builds: the ES one (the bundle) and the CommonJS one (the tests).
  return (require('axios') as { default: AxiosStatic }).default;
}

/**
 * axios.isAxiosError without loading axios (an error can only be an axios error once it is
 * loaded): axios marks its errors so, whichever copy of axios made them.
 */
export function isAxiosError(e: unknown): e is AxiosError {
  return typeof e === 'object' && e !== null && (e as { isAxiosError?: unknown }).isAxiosError === true;
}
