/** Reads what the SEA tests need from an ELF file: header fields and PT_NOTE notes. */
import assert from 'node:assert/strict';

// ELF constants (System V gABI; e_machine values from elf.h).
export const EM_X86_64 = 62;
export const EM_AARCH64 = 183;
export const ET_EXEC = 2;
export const ET_DYN = 3;
const PT_NOTE = 4;

export interface ElfInfo {
  machine: number;
  type: number;
  notes: { name: string; desc: Buffer }[];
}

/** Reads a 64-bit little-endian ELF header and the notes of its PT_NOTE segments. */
export function readElf(buf: Buffer): ElfInfo {
  assert.deepEqual([...buf.subarray(0, 4)], [0x7f, 0x45, 0x4c, 0x46], 'ELF magic');
  assert.equal(buf[4], 2, 'ELFCLASS64');
  assert.equal(buf[5], 1, 'little endian');
  const type = buf.readUInt16LE(16);
  const machine = buf.readUInt16LE(18);
  const phoff = Number(buf.readBigUInt64LE(32));
  const phentsize = buf.readUInt16LE(54);
  const phnum = buf.readUInt16LE(56);
  const notes: ElfInfo['notes'] = [];
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * phentsize;
    if (buf.readUInt32LE(ph) !== PT_NOTE) continue;
    const offset = Number(buf.readBigUInt64LE(ph + 8));
    const size = Number(buf.readBigUInt64LE(ph + 32));
    let p = offset;
    while (p + 12 <= offset + size) {
      const namesz = buf.readUInt32LE(p);
      const descsz = buf.readUInt32LE(p + 4);
      const nameStart = p + 12;
      const descStart = nameStart + Math.ceil(namesz / 4) * 4;
      notes.push({
        name: buf.toString('latin1', nameStart, nameStart + namesz).replace(/\0+$/, ''),
        desc: buf.subarray(descStart, descStart + descsz),
      });
      p = descStart + Math.ceil(descsz / 4) * 4;
    }
  }
  return { machine, type, notes };
}
