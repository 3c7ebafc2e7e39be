import assert from 'node:assert/strict';
import { renameSync, rmSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { tempDir } from '../helpers/servers';
import { WatchedFile } from '../../agent/http/watched-file';

describe('http/watched-file', () => {
  let dir: string;
  beforeEach(() => (dir = tempDir()));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function counting(file: string) {
    let reads = 0;
    const errors: string[] = [];
    const w = new WatchedFile(file, (b) => (reads++, b.toString().trim()), (m) => errors.push(m));
    return { w, reads: () => reads, errors };
  }

  it('reads once while the file is unchanged, again when it changes', () => {
    const f = path.join(dir, 'token');
    writeFileSync(f, 'one\n');
    const { w, reads } = counting(f);
    assert.equal(w.get(), 'one');
    assert.equal(w.get(), 'one');
    assert.equal(reads(), 1);
    writeFileSync(f, 'two-longer\n');
    assert.equal(w.get(), 'two-longer');
    assert.equal(reads(), 2);
  });

  it('sees a same-size rewrite through its mtime and an atomic rename through its inode', () => {
    const f = path.join(dir, 'token');
    writeFileSync(f, 'aaaa');
    const { w } = counting(f);
    assert.equal(w.get(), 'aaaa');
    writeFileSync(f, 'bbbb');
    utimesSync(f, new Date(), new Date(Date.now() + 5000));
    assert.equal(w.get(), 'bbbb');
    const tmp = path.join(dir, 'token.new');
    writeFileSync(tmp, 'cccc');
    renameSync(tmp, f);
    assert.equal(w.get(), 'cccc');
  });

  it('keeps the last good content when the file vanishes mid-rotation, and says so once', () => {
    const f = path.join(dir, 'token');
    writeFileSync(f, 'good');
    const { w, errors } = counting(f);
    w.get();
    unlinkSync(f);
    assert.equal(w.get(), 'good');
    assert.equal(w.get(), 'good');
    assert.equal(errors.length, 1);
    assert.match(errors[0]!, /cannot read .*ENOENT/);
  });

  it('throws when the file was never readable', () => {
    const { w } = counting(path.join(dir, 'missing'));
    assert.throws(() => w.get(), /cannot read .*missing: ENOENT/);
  });

  it('reload() reads even an unchanged file and tells whether the content changed', () => {
    const f = path.join(dir, 'token');
    writeFileSync(f, 'same');
    const { w, reads } = counting(f);
    w.get();
    assert.equal(w.reload(), false);
    assert.equal(reads(), 2);
  });
});
