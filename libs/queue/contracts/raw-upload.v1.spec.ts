import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { IngestParams } from '../../protocol/index.js';
import type { IncomingMessage, OutgoingMessage } from '../queue.port.js';
import { decodeRawUpload, encodeRawUpload, rawUploadProfiles } from './raw-upload.v1.js';

const params: IngestParams = {
  name: 'push',
  appName: 'svc',
  labels: {},
  fromNanos: '1',
  untilNanos: '1',
  sampleRate: 0,
  spyName: 'push',
  units: '',
  aggregationType: '',
  formatParam: '',
};

const consumed = (m: OutgoingMessage): IncomingMessage => ({
  topic: 'profiles.raw.v1',
  partition: 0,
  offset: '0',
  key: m.key,
  value: m.value,
  headers: m.headers,
  timestamp: 0,
});

const upload = (profiles?: number) =>
  encodeRawUpload({
    uploadId: 'u1',
    tenant: 't',
    format: 'push',
    contentType: 'application/proto',
    contentEncoding: '',
    params,
    receivedAtMs: 1,
    body: Buffer.from('x'),
    ...(profiles !== undefined ? { profiles } : {}),
  });

describe('raw-upload.v1 profiles count', () => {
  it('carries the profiles ingest counted, readable without decoding the upload', () => {
    const m = consumed(upload(10_000));
    assert.equal(rawUploadProfiles(m), 10_000);
    assert.equal(decodeRawUpload(m).profiles, 10_000);
  });

  it('one profile, or no header at all, reads as one (uploads of older writers have none)', () => {
    for (const m of [upload(1), upload()]) {
      assert.equal(m.headers['ember-profiles'], undefined);
      assert.equal(rawUploadProfiles(consumed(m)), 1);
      assert.equal(decodeRawUpload(consumed(m)).profiles, undefined);
    }
  });

  it('an unreadable count is taken as one, never as zero or a fraction', () => {
    for (const v of ['', 'abc', '-5', '0', '2.5', '1e400']) {
      const m = consumed(upload());
      m.headers = { ...m.headers, 'ember-profiles': v };
      assert.equal(rawUploadProfiles(m), 1, v);
    }
  });
});
