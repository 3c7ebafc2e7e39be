/**
 * A secret that is either a literal (from env) or a file re-read when it changes and again
 * after a 401, so a rotated secret needs no restart. Every value read is registered with the
 * log redactor before it can reach any log line.
 */
import { registerSecret } from '../../core/log';
import { WatchedFile } from '../watched-file';

export class SecretSource {
  private readonly file?: WatchedFile<string>;
  private last?: string;

  constructor(literal: string | undefined, file: string | undefined, what: string, warn: (m: string) => void = () => undefined) {
    if (literal !== undefined) {
      registerSecret(literal);
      this.last = literal;
    } else if (file !== undefined) {
      this.file = new WatchedFile(
        file,
        (b) => {
          // Token files commonly end with a newline (echo, kubectl): it is not part of the secret.
          const v = b.toString('utf8').trim();
          if (v === '') throw new Error(`${what} file is empty`);
          return v;
        },
        warn,
      );
    } else throw new Error(`no ${what} configured`);
  }

  get(): string {
    if (!this.file) return this.last!;
    const v = this.file.get();
    if (v !== this.last) {
      registerSecret(v); // the previous one stays registered too (late log lines)
      this.last = v;
    }
    return v;
  }

  /** Re-reads the file now; true when the secret changed. */
  reload(): boolean {
    if (!this.file) return false;
    const before = this.last;
    this.file.reload();
    return this.get() !== before;
  }
}
