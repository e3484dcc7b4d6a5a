import { createHash } from 'node:crypto';
import type { SharedStore } from './store.port.js';
import { keys } from './store.port.js';

// Upload dedupe: agents retry on 5xx and 429 (the Java agent up to 8 times), so the same upload
// can arrive again after ingest already published it. Identical = same tenant, format, body
// digest and every query parameter that changes what is stored: the app name and labels of
// `name`, from/until, spyName, sampleRate, units and aggregationType (regression: the same body
// sent at 100 Hz and at 50 Hz was stored once, although its CPU values differ by 2x). The claim
// is taken before publishing and released if publishing fails, so a retry after a 503 is not
// mistaken for a duplicate.

export interface UploadIdentity {
  tenant: string;
  format: string;
  /** the parameters that shape the stored profile (a Push body carries its own: pass '' / 0) */
  params: {
    appName: string;
    labels: Readonly<Record<string, string>>;
    fromNanos: string;
    untilNanos: string;
    spyName: string;
    sampleRate: number;
    units: string;
    aggregationType: string;
  };
  body: Uint8Array;
}

export function uploadDigest(u: UploadIdentity): string {
  const p = u.params;
  // labels in a canonical order: `app{a=1,b=2}` and `app{b=2,a=1}` store the same series
  const labels = Object.entries(p.labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const h = createHash('sha256');
  h.update(
    JSON.stringify([
      'v2',
      u.format,
      p.appName,
      labels,
      p.fromNanos,
      p.untilNanos,
      p.spyName,
      p.sampleRate,
      p.units,
      p.aggregationType,
    ]),
  );
  h.update('\u0000');
  h.update(u.body);
  return h.digest('base64url');
}

/**
 * The upload id of an upload: derived from its identity, so the same upload sent twice gets the
 * same id (a UUID, version 8). This closes the gap a claim cannot: a publish that timed out may
 * still have been written; ingest then answers 503 and releases the claim, the agent retries,
 * and the second copy carries the first one's id, hence the same series ids, which the exporter
 * and the store drop as repeats.
 */
export function uploadIdOf(tenant: string, digest: string): string {
  const h = createHash('sha256').update(`upload\u0000${tenant}\u0000${digest}`).digest();
  h[6] = (h[6] & 0x0f) | 0x80; // version 8: custom (RFC 9562)
  h[8] = (h[8] & 0x3f) | 0x80; // variant 10
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

interface PendingClaim {
  key: string;
  resolve: (first: boolean) => void;
  reject: (err: unknown) => void;
}

export class UploadDedupe {
  /** claims asked for in this turn of the event loop, sent to the store together */
  private pending: PendingClaim[] = [];

  constructor(
    private readonly store: SharedStore,
    private readonly windowMs: number,
  ) {}

  /**
   * Claims the upload: `key` is set when it is new (null for a duplicate within the window);
   * `uploadId` is its identity-derived id either way.
   *
   * Claims made in the same turn of the event loop go to the store as one call (one Redis
   * pipeline, one SQLite transaction) at `setImmediate`: under load many uploads are parsed in
   * one poll phase, and a round trip or a commit per upload was a fixed cost each (the Redis
   * write syscall was 7% of the three-process ingest's CPU, the SQLite commit 3% of the
   * one-process main thread). The answers are the store's, key by key in the order asked: two
   * claims of the same key in one call are first and duplicate, as if sent one after the other.
   * A failed call fails every claim in it, as each would have failed alone.
   */
  async claim(u: UploadIdentity): Promise<{ key: string | null; uploadId: string }> {
    const digest = uploadDigest(u);
    const key = keys.upload(u.tenant, digest);
    const first = await new Promise<boolean>((resolve, reject) => {
      if (this.pending.push({ key, resolve, reject }) === 1) setImmediate(() => this.flush());
    });
    return { key: first ? key : null, uploadId: uploadIdOf(u.tenant, digest) };
  }

  /** Undoes a claim whose upload was not published. */
  async release(key: string): Promise<void> {
    await this.store.release([key]);
  }

  private flush(): void {
    const batch = this.pending;
    this.pending = [];
    let call: Promise<boolean[]>;
    try {
      call = this.store.claim(
        batch.map((c) => c.key),
        this.windowMs,
      );
    } catch (err) {
      call = Promise.reject(err);
    }
    call.then(
      (firsts) => {
        for (let i = 0; i < batch.length; i++) {
          const f = firsts[i];
          if (typeof f === 'boolean') batch[i].resolve(f);
          else
            batch[i].reject(
              new Error(`store answered ${firsts.length} claims for ${batch.length}`),
            );
        }
      },
      (err: unknown) => {
        for (const c of batch) c.reject(err);
      },
    );
  }
}
