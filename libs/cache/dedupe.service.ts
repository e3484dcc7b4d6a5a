import { createHash } from 'node:crypto';
import type { SharedStore } from './store.port.js';
import { keys } from './store.port.js';

// Upload dedupe: agents retry on 5xx and 429 (the Java agent up to 8 times), so the same upload
// can arrive again after ingest already published it. Identical = same tenant, name, time range,
// format and body digest. The claim is taken before publishing and released if publishing
// fails, so a retry after a 503 is not mistaken for a duplicate.

export interface UploadIdentity {
  tenant: string;
  name: string;
  from: string;
  until: string;
  format: string;
  body: Uint8Array;
}

export function uploadDigest(u: UploadIdentity): string {
  const h = createHash('sha256');
  h.update(`${u.name}\u0000${u.from}\u0000${u.until}\u0000${u.format}\u0000`);
  h.update(u.body);
  return h.digest('base64url');
}

export class UploadDedupe {
  constructor(
    private readonly store: SharedStore,
    private readonly windowMs: number,
  ) {}

  /** Returns the claim key when this upload is new, or null when it is a duplicate. */
  async claim(u: UploadIdentity): Promise<string | null> {
    const key = keys.upload(u.tenant, uploadDigest(u));
    const [first] = await this.store.claim([key], this.windowMs);
    return first ? key : null;
  }

  /** Undoes a claim whose upload was not published. */
  async release(key: string): Promise<void> {
    await this.store.release([key]);
  }
}
