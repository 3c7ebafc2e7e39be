/** Entry point of the bundle and the SEA binary. */
import { runCli } from './cli';
import { log } from './core/log';

// The agent must never die of a stray promise: log it and keep collecting.
process.on('unhandledRejection', (reason) => {
  log.error('unhandled rejection (bug): continuing', {
    error: reason instanceof Error ? reason.stack ?? reason.message : String(reason),
  });
});

// A crash is a bug: log it (through the redactor, so no secret rides on a stack trace) and exit
// non-zero; the supervisor (systemd or the init script's loop) restarts the agent.
process.on('uncaughtException', (e) => {
  log.error('fatal error (bug)', { error: e.stack ?? e.message });
  process.exit(1);
});

// `dbx-prom-agent gc --help | head`: a reader that went away is not an error.
for (const stream of [process.stdout, process.stderr])
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  });

/**
 * Exits once stdout and stderr have handed everything to the kernel. A pipe is written
 * asynchronously, so exiting at once would cut `once --dry-run | grep` after 64 KiB; waiting
 * for the loop to drain instead would let a keep-alive socket linger, and a natural exit
 * restores the default signal handlers before the process is gone, so a second SIGTERM then
 * (systemd signals the whole unit) would end it "killed by signal" instead of 0.
 */
function exitAfterFlush(code: number): void {
  process.exitCode = code;
  // A reader that stopped reading must not hold the process forever.
  setTimeout(() => process.exit(code), 2000).unref();
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}

runCli(process.argv).then(exitAfterFlush, (e: unknown) => {
  log.error('fatal error', { error: e instanceof Error ? e.stack ?? e.message : String(e) });
  exitAfterFlush(1);
});
