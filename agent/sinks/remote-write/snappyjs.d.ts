// snappyjs ships no types. Buffers in, Buffers out (it returns the input's own kind).
declare module 'snappyjs' {
  export function compress(input: Buffer): Buffer;
  export function uncompress(input: Buffer, maxLength?: number): Buffer;
}
