/**
 * A file whose content is re-read only when it changes: a stat (cheap, no read) per use, a
 * read when inode, size or mtime moved. This is how rotated tokens, passwords and
 * certificates take effect without a restart (a Kubernetes-style symlink swap changes the
 * inode; an in-place rewrite changes mtime/size). If the file becomes unreadable after a
 * good read (mid-rotation), the last good content is kept and the error is reported once.
 */
import { readFileSync, statSync } from 'node:fs';

export class WatchedFile<T> {
  private signature = '';
  private value: T | undefined;
  private lastError = '';

  constructor(
    readonly path: string,
    private readonly parse: (content: Buffer) => T,
    private readonly onError: (message: string) => void = () => undefined,
  ) {}

  private stat(): string {
    const s = statSync(this.path);
    return `${s.ino}:${s.size}:${s.mtimeMs}`;
  }

  /** The current content; reads the file only when it changed since the last read. */
  get(): T {
    let sig: string;
    try {
      sig = this.stat();
    } catch (e) {
      return this.keepOrThrow(e);
    }
    if (sig === this.signature && this.value !== undefined) return this.value;
    try {
      const value = this.parse(readFileSync(this.path));
      this.value = value;
      this.signature = sig;
      this.lastError = '';
      return value;
    } catch (e) {
      return this.keepOrThrow(e);
    }
  }

  /** Reads the file now whatever its stat says; true when the content differs from before. */
  reload(equal: (a: T, b: T) => boolean = (a, b) => a === b): boolean {
    const before = this.value;
    this.signature = '';
    const after = this.get();
    return before === undefined || !equal(before, after);
  }

  private keepOrThrow(e: unknown): T {
    const msg = `cannot read ${this.path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`;
    if (this.value === undefined) throw new Error(msg);
    if (msg !== this.lastError) this.onError(`${msg}; keeping the previous content`);
    this.lastError = msg;
    return this.value;
  }
}
