/**
 * Snappy *block* format (not the framed/stream format): remote write 1.0 says the body is
 * `snappy.Encode` of the protobuf (prometheus/prometheus storage/remote/codec.go), which is the
 * block format. snappyjs is a pure-JS port of the reference compressor: no native addon, so the
 * bundle stays one file.
 */
import * as snappyjs from 'snappyjs';

export function snappyCompress(data: Buffer): Buffer {
  return snappyjs.compress(data);
}

/** `maxLength` guards against a hostile length preamble (used by tests and fake receivers). */
export function snappyUncompress(data: Buffer, maxLength = 64 * 1024 * 1024): Buffer {
  return snappyjs.uncompress(data, maxLength);
}
