// Set by esbuild at build time; tests and tsx read package.json instead.
declare const __AGENT_VERSION__: string | undefined;

function readPackageVersion(): string {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require('../../package.json') as { version: string }).version;
  } catch {
    return '0.0.0-dev';
  }
}

export const VERSION: string =
  typeof __AGENT_VERSION__ === 'string' ? __AGENT_VERSION__ : readPackageVersion();

export const USER_AGENT = `dbx-prom-agent/${VERSION}`;
