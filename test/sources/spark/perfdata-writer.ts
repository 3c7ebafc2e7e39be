/** Test helper: writes HotSpot perf data buffers (hsperfdata) the way the JVM lays them out. */

export type Entry = { name: string; long?: bigint; text?: string };

/** Writes a perf data buffer the way HotSpot lays it out (perfMemory.hpp, v2). */
export function perfData(entries: Entry[], littleEndian: boolean): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const name = Buffer.from(e.name + '\0', 'latin1');
    const nameOffset = 20;
    const dataOffset = Math.ceil((nameOffset + name.length) / 8) * 8;
    const data = e.text !== undefined ? Buffer.from(e.text + '\0', 'latin1') : Buffer.alloc(8);
    if (e.long !== undefined) littleEndian ? data.writeBigInt64LE(e.long) : data.writeBigInt64BE(e.long);
    const length = Math.ceil((dataOffset + data.length) / 8) * 8;
    const b = Buffer.alloc(length);
    const w = (v: number, o: number) => (littleEndian ? b.writeUInt32LE(v, o) : b.writeUInt32BE(v, o));
    w(length, 0);
    w(nameOffset, 4);
    w(e.text !== undefined ? data.length : 0, 8);
    b.writeUInt8((e.text !== undefined ? 'B' : 'J').charCodeAt(0), 12);
    w(dataOffset, 16);
    name.copy(b, nameOffset);
    data.copy(b, dataOffset);
    parts.push(b);
  }
  const prologue = Buffer.alloc(32);
  prologue.writeUInt32BE(0xcafec0c0, 0);
  prologue.writeUInt8(littleEndian ? 1 : 0, 4);
  prologue.writeUInt8(2, 5);
  const w = (v: number, o: number) => (littleEndian ? prologue.writeUInt32LE(v, o) : prologue.writeUInt32BE(v, o));
  w(32, 24);
  w(entries.length, 28);
  return Buffer.concat([prologue, ...parts]);
}

/** Counters of a G1-like JVM: 1 GiB old + 100 MiB eden + 8 MiB survivor used; 2.5 GiB + 5 GiB max. */
export const G1_LIKE: Entry[] = [
  { name: 'sun.rt.javaCommand', text: 'com.databricks.backend.daemon.driver.DriverDaemon' },
  { name: 'sun.gc.generation.0.maxCapacity', long: 2684354560n },
  { name: 'sun.gc.generation.0.space.0.used', long: 104857600n },
  { name: 'sun.gc.generation.0.space.1.used', long: 0n },
  { name: 'sun.gc.generation.0.space.2.used', long: 8388608n },
  { name: 'sun.gc.generation.1.maxCapacity', long: 5368709120n },
  { name: 'sun.gc.generation.1.space.0.used', long: 1073741824n },
  { name: 'sun.gc.metaspace.used', long: 99999999n },
];

/** Counters as G1 writes them (-Xmx512m): the whole heap as each generation's maximum, padded. */
export const G1_REAL: Entry[] = [
  { name: 'sun.gc.policy.name', text: 'GarbageFirst' },
  { name: 'sun.gc.generation.0.maxCapacity', long: 536870936n },
  { name: 'sun.gc.generation.0.space.0.used', long: 13631488n },
  { name: 'sun.gc.generation.0.space.1.used', long: 0n },
  { name: 'sun.gc.generation.0.space.2.used', long: 0n },
  { name: 'sun.gc.generation.1.maxCapacity', long: 536870920n },
  { name: 'sun.gc.generation.1.space.0.used', long: 10407936n },
];
