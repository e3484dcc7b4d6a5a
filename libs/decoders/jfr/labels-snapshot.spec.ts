import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { fixturePath } from '../../../test/support/paths.js';
import { JfrError } from './errors.js';
import { decodeLabelsSnapshot } from './labels-snapshot.js';
import { Bytes } from './testing.js';

/** protobuf varint (10 bytes for negatives), unlike JFR's 9-byte form */
function pbVarint(b: Bytes, v: number | bigint): Bytes {
  let x = BigInt.asUintN(64, BigInt(v));
  while (x >= 0x80n) {
    b.u8(Number(x & 0x7fn) | 0x80);
    x >>= 7n;
  }
  return b.u8(Number(x));
}

function len(b: Bytes, field: number, body: Bytes): Bytes {
  pbVarint(b, (field << 3) | 2);
  pbVarint(b, body.length);
  return b.raw(body.out);
}

function kv(k: number | bigint, v: number | bigint): Bytes {
  return pbVarint(pbVarint(pbVarint(pbVarint(new Bytes(), 8), k), 16), v);
}

describe('LabelsSnapshot decoding', () => {
  it('decodes contexts and strings, including negative and 64-bit keys', () => {
    const ctx = new Bytes();
    len(ctx, 1, kv(1, 2));
    len(ctx, 1, kv(3, -4));
    const entry = pbVarint(pbVarint(new Bytes(), 8), -1);
    len(entry, 2, ctx);
    const msg = new Bytes();
    len(msg, 1, entry);
    const str = (id: number | bigint, s: string) => {
      const e = pbVarint(pbVarint(new Bytes(), 8), id);
      const sb = new Bytes().raw(new TextEncoder().encode(s));
      return len(e, 2, sb);
    };
    len(msg, 2, str(1, 'thread_name'));
    len(msg, 2, str(2, 'pool-1'));
    len(msg, 2, str(2n ** 62n, 'big'));
    pbVarint(msg, (9 << 3) | 0); // unknown field: skipped
    pbVarint(msg, 77);
    const snap = decodeLabelsSnapshot(msg.bytes());
    assert.deepEqual(snap.contexts.get(-1), [
      [1, 2],
      [3, -4],
    ]);
    assert.equal(snap.strings.get(1), 'thread_name');
    assert.equal(snap.strings.get(2n ** 62n), 'big');
  });

  it('decodes the dump1 fixture: 4 contexts with thread_name', () => {
    const snap = decodeLabelsSnapshot(
      gunzipSync(readFileSync(fixturePath('pyroscope/jfr/dump1.labels.pb.gz'))),
    );
    assert.equal(snap.contexts.size, 4);
    assert.equal(snap.strings.size, 5);
    const names = [...snap.contexts.values()].map((pairs) =>
      pairs.map(([k, v]) => `${snap.strings.get(k)}=${snap.strings.get(v)}`).join(','),
    );
    assert.deepEqual(names.sort(), [
      'thread_name=pool-2-thread-1',
      'thread_name=pool-2-thread-3',
      'thread_name=pool-2-thread-5',
      'thread_name=pool-2-thread-7',
    ]);
  });

  it('throws JfrError on truncated protobuf', () => {
    const msg = len(new Bytes(), 1, kv(1, 2)).bytes();
    assert.throws(
      () => decodeLabelsSnapshot(msg.subarray(0, msg.length - 1)),
      (e: unknown) => e instanceof JfrError && e.kind === 'malformed',
    );
  });
});
