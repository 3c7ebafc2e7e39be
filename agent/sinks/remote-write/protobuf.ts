/**
 * Prometheus Remote-Write 1.0 protobuf, hand-written (prometheus/prometheus prompb/remote.proto
 * and types.proto):
 *   WriteRequest { repeated TimeSeries timeseries = 1; }
 *   TimeSeries   { repeated Label labels = 1; repeated Sample samples = 2; }
 *   Label        { string name = 1; string value = 2; }
 *   Sample       { double value = 1; int64 timestamp = 2; }   // timestamp in ms
 * Four messages and five field kinds do not need protobufjs: a two-pass encoder (sizes, then
 * one Buffer) is several times faster and adds nothing to the bundle (see bench/remote-write.ts).
 *
 * Protobuf concatenation is merging, and a repeated field merges by appending: so the bytes of
 * two WriteRequests put end to end are one WriteRequest holding both sets of series. The queue
 * relies on that to send several stored records in one request without re-encoding them.
 */

/** A label pair; the name first. */
export type Label = readonly [name: string, value: string];

export interface WireSample {
  readonly value: number;
  readonly timestampMs: number;
  /** A Prometheus staleness marker: encoded as the NaN with bits 0x7ff0000000000002. */
  readonly stale?: boolean;
}

export interface WireSeries {
  /** Sorted by name, unique, `__name__` among them (series.ts guarantees it). */
  readonly labels: readonly Label[];
  readonly samples: readonly WireSample[];
  /**
   * Where the encoder may keep this label set's bytes for the next request. The series tracker
   * passes the same holder for a series every cycle, so its labels (most of a request's bytes)
   * are encoded once in the series' life and copied after that. The labels must not change.
   */
  readonly cache?: LabelCache;
}

export interface LabelCache {
  labelBytes?: Buffer;
}

/** Prometheus model/value/value.go: StaleNaN = 0x7ff0000000000002. */
export const STALE_NAN_HI = 0x7ff00000;
export const STALE_NAN_LO = 0x00000002;
/** A plain NaN written with fixed bits, so a NaN value can never alias the staleness marker. */
const NAN_HI = 0x7ff80000;

const TAG_1_LEN = 0x0a; // field 1, wire type 2 (length-delimited)
const TAG_2_LEN = 0x12; // field 2, wire type 2
const TAG_1_I64 = 0x09; // field 1, wire type 1 (64-bit)
const TAG_2_VARINT = 0x10; // field 2, wire type 0 (varint)

function varintSize(n: number): number {
  // n is a non-negative integer below 2^53 here (lengths, ms timestamps).
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

/** int64 timestamps: negative values take the 10-byte two's-complement form. */
function int64Size(n: number): number {
  return n < 0 ? 10 : varintSize(n);
}

function writeVarint(buf: Buffer, pos: number, n: number): number {
  while (n >= 0x80) {
    buf[pos++] = (n % 128) | 0x80;
    n = Math.floor(n / 128);
  }
  buf[pos++] = n;
  return pos;
}

function writeInt64(buf: Buffer, pos: number, n: number): number {
  if (n >= 0) return writeVarint(buf, pos, n);
  let v = BigInt.asUintN(64, BigInt(n));
  for (let i = 0; i < 9; i++) {
    buf[pos++] = Number(v & 0x7fn) | 0x80;
    v >>= 7n;
  }
  buf[pos++] = Number(v);
  return pos;
}

function checkTimestamp(ms: number): void {
  if (!Number.isSafeInteger(ms)) throw new RangeError(`timestamp ${ms} is not a whole number of ms`);
}

/**
 * UTF-8 length of a string. Label names and most values are short ASCII: counting in JS is
 * cheaper than a call into C++ (Buffer.byteLength) for each of them.
 */
function utf8Length(str: string): number {
  const n = str.length;
  if (n > 64) return Buffer.byteLength(str, 'utf8');
  for (let i = 0; i < n; i++) if (str.charCodeAt(i) >= 0x80) return Buffer.byteLength(str, 'utf8');
  return n;
}

/** Writes a string whose UTF-8 length is `len`: ASCII byte by byte, the rest through Buffer.write. */
function writeString(buf: Buffer, pos: number, str: string, len: number): number {
  if (len === str.length && len <= 64) {
    for (let i = 0; i < len; i++) buf[pos + i] = str.charCodeAt(i);
    return pos + len;
  }
  return pos + buf.write(str, pos, len, 'utf8');
}

/** Bytes of one encoded Label message body. */
function labelBodySize(nameLen: number, valueLen: number): number {
  return 1 + varintSize(nameLen) + nameLen + 1 + varintSize(valueLen) + valueLen;
}

function sampleBodySize(s: WireSample): number {
  return 1 + 8 + 1 + int64Size(s.timestampMs);
}

/** The encoded `labels` fields (tag, length, Label body each) of one label set. */
function encodeLabels(labels: readonly Label[]): Buffer {
  const lens: number[] = [];
  let size = 0;
  for (const [name, value] of labels) {
    const n = utf8Length(name);
    const v = utf8Length(value);
    lens.push(n, v);
    const l = labelBodySize(n, v);
    size += 1 + varintSize(l) + l;
  }
  const buf = Buffer.allocUnsafe(size);
  let pos = 0;
  let k = 0;
  for (const [name, value] of labels) {
    const n = lens[k++]!;
    const v = lens[k++]!;
    buf[pos++] = TAG_1_LEN;
    pos = writeVarint(buf, pos, labelBodySize(n, v));
    buf[pos++] = TAG_1_LEN;
    pos = writeVarint(buf, pos, n);
    pos = writeString(buf, pos, name, n);
    buf[pos++] = TAG_2_LEN;
    pos = writeVarint(buf, pos, v);
    pos = writeString(buf, pos, value, v);
  }
  return buf;
}

/**
 * Encodes a WriteRequest. Pass one: the size of every TimeSeries (labels encoded, or taken from
 * the series' cache); pass two: write them into one Buffer.
 */
export function encodeWriteRequest(series: readonly WireSeries[]): Buffer {
  const parts: Buffer[] = new Array<Buffer>(series.length);
  const bodies: number[] = new Array<number>(series.length);
  let total = 0;
  for (let i = 0; i < series.length; i++) {
    const ts = series[i]!;
    let lb = ts.cache?.labelBytes;
    if (lb === undefined) {
      lb = encodeLabels(ts.labels);
      if (ts.cache) ts.cache.labelBytes = lb;
    }
    let body = lb.length;
    for (const s of ts.samples) {
      checkTimestamp(s.timestampMs);
      const l = sampleBodySize(s);
      body += 1 + varintSize(l) + l;
    }
    parts[i] = lb;
    bodies[i] = body;
    total += 1 + varintSize(body) + body;
  }

  const buf = Buffer.allocUnsafe(total);
  let pos = 0;
  for (let i = 0; i < series.length; i++) {
    const ts = series[i]!;
    buf[pos++] = TAG_1_LEN;
    pos = writeVarint(buf, pos, bodies[i]!);
    const lb = parts[i]!;
    pos += lb.copy(buf, pos);
    for (const s of ts.samples) {
      buf[pos++] = TAG_2_LEN;
      pos = writeVarint(buf, pos, sampleBodySize(s));
      buf[pos++] = TAG_1_I64;
      // Both NaNs are written as explicit bits: V8 may canonicalise NaN payloads in doubles.
      if (s.stale) {
        buf.writeUInt32LE(STALE_NAN_LO, pos);
        buf.writeUInt32LE(STALE_NAN_HI, pos + 4);
      } else if (Number.isNaN(s.value)) {
        buf.writeUInt32LE(0, pos);
        buf.writeUInt32LE(NAN_HI, pos + 4);
      } else buf.writeDoubleLE(s.value, pos);
      pos += 8;
      buf[pos++] = TAG_2_VARINT;
      pos = writeInt64(buf, pos, s.timestampMs);
    }
  }
  if (pos !== total) throw new Error(`protobuf encoder bug: wrote ${pos} of ${total} bytes`);
  return buf;
}

// ---- Decoder: for tests, the bench and the fake receivers (a full protobuf reader would skip
// unknown fields; this one does too, so it also reads requests of newer senders). ----

export class ProtobufError extends Error {}

class Reader {
  pos: number;
  constructor(
    readonly buf: Uint8Array,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }

  varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (this.pos >= this.end) throw new ProtobufError('truncated varint');
      const b = this.buf[this.pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
      if (shift > 63n) throw new ProtobufError('varint too long');
    }
  }

  length(): number {
    const n = Number(this.varint());
    if (this.pos + n > this.end) throw new ProtobufError('length beyond end of message');
    return n;
  }

  skip(wireType: number): void {
    if (wireType === 0) this.varint();
    else if (wireType === 1) this.pos += 8;
    else if (wireType === 2) this.pos += this.length();
    else if (wireType === 5) this.pos += 4;
    else throw new ProtobufError(`unsupported wire type ${wireType}`);
    if (this.pos > this.end) throw new ProtobufError('field beyond end of message');
  }
}

export interface DecodedSample {
  value: number;
  timestampMs: number;
  stale: boolean;
}

export interface DecodedSeries {
  labels: [string, string][];
  samples: DecodedSample[];
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decodeLabel(r: Reader, end: number): [string, string] {
  let name = '';
  let value = '';
  const sub = new Reader(r.buf, r.pos, end);
  while (sub.pos < end) {
    const tag = Number(sub.varint());
    const field = tag >>> 3;
    if ((field === 1 || field === 2) && (tag & 7) === 2) {
      const n = sub.length();
      const s = utf8.decode(sub.buf.subarray(sub.pos, sub.pos + n));
      sub.pos += n;
      if (field === 1) name = s;
      else value = s;
    } else sub.skip(tag & 7);
  }
  return [name, value];
}

function decodeSample(r: Reader, end: number): DecodedSample {
  const out: DecodedSample = { value: 0, timestampMs: 0, stale: false };
  const sub = new Reader(r.buf, r.pos, end);
  while (sub.pos < end) {
    const tag = Number(sub.varint());
    if (tag === TAG_1_I64) {
      if (sub.pos + 8 > end) throw new ProtobufError('truncated double');
      const view = new DataView(sub.buf.buffer, sub.buf.byteOffset + sub.pos, 8);
      out.stale = view.getUint32(0, true) === STALE_NAN_LO && view.getUint32(4, true) === STALE_NAN_HI;
      out.value = view.getFloat64(0, true);
      sub.pos += 8;
    } else if (tag === TAG_2_VARINT) {
      out.timestampMs = Number(BigInt.asIntN(64, sub.varint()));
    } else sub.skip(tag & 7);
  }
  return out;
}

export function decodeWriteRequest(buf: Uint8Array): DecodedSeries[] {
  const out: DecodedSeries[] = [];
  const r = new Reader(buf, 0, buf.length);
  while (r.pos < r.end) {
    const tag = Number(r.varint());
    if (tag !== TAG_1_LEN) {
      r.skip(tag & 7);
      continue;
    }
    const tsLen = r.length(); // read before r.pos: length() moves it
    const tsEnd = r.pos + tsLen;
    const ts: DecodedSeries = { labels: [], samples: [] };
    while (r.pos < tsEnd) {
      const t = Number(r.varint());
      if ((t === TAG_1_LEN || t === TAG_2_LEN) && t >>> 3 <= 2) {
        const len = r.length();
        const end = r.pos + len;
        if (end > tsEnd) throw new ProtobufError('field beyond end of TimeSeries');
        if (t === TAG_1_LEN) ts.labels.push(decodeLabel(r, end));
        else ts.samples.push(decodeSample(r, end));
        r.pos = end;
      } else r.skip(t & 7);
    }
    out.push(ts);
  }
  return out;
}
