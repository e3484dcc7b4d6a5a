// Pyroscope's ValidateProfile (`pkg/validation/validate.go`), as rejections (DecodeError) and
// the two truncations it performs (stack depth, symbol length). The ingestion-window check runs
// only when its limits are set (see DecodeLimits.rejectOlderThanMs).

import {
  assignFlatToProfile,
  isWellFormed,
  profileToFlat,
  truncateStacksFlat,
  truncateSymbols,
} from '../model/index.js';
import type { FlatProfile, Int64, Profile } from '../model/index.js';
import { DecodeError } from './decode-error.js';
import type { DecodeLimits } from './decoder.js';

export interface ValidateStats {
  stacksTruncated: number;
  symbolsTruncated: number;
}

/** Throws DecodeError where Pyroscope rejects; truncates where it truncates. Mutates `p`. */
export function validateProfile(p: Profile, limits: DecodeLimits, nowNanos?: Int64): ValidateStats {
  const f = profileToFlat(p);
  const stats = validateFlatProfile(f, limits, nowNanos);
  assignFlatToProfile(p, f);
  return stats;
}

/** `validateProfile` on the flat model (what every decoder's output goes through). */
export function validateFlatProfile(
  p: FlatProfile,
  limits: DecodeLimits,
  nowNanos?: Int64,
): ValidateStats {
  if (p.sampleType.length === 0) throw new DecodeError('invalid_profile', 'empty profile');
  if (nowNanos !== undefined) {
    checkIngestionWindow(p, limits, nowNanos);
    // Pyroscope stamps a profile without a (positive) time with the server clock.
    if (typeof p.timeNanos === 'number' ? p.timeNanos <= 0 : p.timeNanos <= 0n) {
      p.timeNanos = nowNanos;
    }
  }
  const s = p.samples;
  if (limits.maxSamples > 0 && s.count > limits.maxSamples) {
    throw new DecodeError(
      'too_many_samples',
      `the profile exceeds the samples count limit (max_profile_stacktrace_samples, actual: ${s.count}, limit: ${limits.maxSamples})`,
    );
  }
  const stacksTruncated = truncateStacksFlat(p, limits.maxStackDepth);
  if (limits.maxSampleLabels > 0) {
    for (let i = 0; i < s.count; i++) {
      const n = s.labStart[i + 1] - s.labStart[i];
      if (n > limits.maxSampleLabels) {
        throw new DecodeError(
          'too_many_sample_labels',
          `the profile exceeds the sample labels limit (max_profile_stacktrace_sample_labels, actual: ${n}, limit: ${limits.maxSampleLabels})`,
        );
      }
    }
  }
  const symbolsTruncated = truncateSymbols(p, limits.maxSymbolLength);
  const L = p.locations;
  for (let i = 0; i < L.count; i++) {
    if (L.id[i] === 0) throw new DecodeError('invalid_profile', 'location id is 0');
  }
  const F = p.functions;
  for (let i = 0; i < F.count; i++) {
    if (F.id[i] === 0) throw new DecodeError('invalid_profile', 'function id is 0');
  }
  const vs = p.sampleType.length;
  for (let i = 0; i < s.count; i++) {
    if (s.valStart[i + 1] - s.valStart[i] !== vs)
      throw new DecodeError('invalid_profile', 'sample value length mismatch');
  }
  const n = p.stringTable.length;
  if (n === 0 || p.stringTable[0] !== '') {
    throw new DecodeError('invalid_profile', 'string 0 should be empty string');
  }
  const bad = (i: number): boolean => !(i >= 0 && i < n);
  for (const vt of p.sampleType) {
    if (bad(vt.type))
      throw new DecodeError('invalid_profile', 'sample type type string index out of range');
  }
  for (let j = 0, e = s.labStart[s.count]; j < e; j++) {
    if (bad(s.labStr[j]) || bad(s.labKey[j])) {
      throw new DecodeError('invalid_profile', 'sample label string index out of range');
    }
  }
  for (let i = 0; i < F.count; i++) {
    if (bad(F.name[i]) || bad(F.systemName[i]) || bad(F.filename[i])) {
      throw new DecodeError('invalid_profile', 'function string index out of range');
    }
  }
  for (const m of p.mapping) {
    if (bad(m.filename) || bad(m.buildId)) {
      throw new DecodeError('invalid_profile', 'mapping string index out of range');
    }
  }
  for (const vt of p.sampleType) {
    if (p.stringTable[vt.type].includes('-')) {
      throw new DecodeError('invalid_profile', 'sample type contains -');
    }
  }
  for (const str of p.stringTable) {
    if (!isWellFormed(str)) throw new DecodeError('invalid_utf8', 'invalid utf8 string');
  }
  return { stacksTruncated, symbolsTruncated };
}

/** Millisecond precision and strict bounds, as Pyroscope's model.Time After/Before. */
function checkIngestionWindow(
  p: { timeNanos: Int64 },
  limits: DecodeLimits,
  nowNanos: Int64,
): void {
  const t = BigInt(p.timeNanos);
  if (t <= 0n || (limits.rejectOlderThanMs <= 0 && limits.rejectNewerThanMs <= 0)) return;
  const ms = t / 1000000n;
  const now = BigInt(nowNanos) / 1000000n;
  const tooOld = limits.rejectOlderThanMs > 0 && !(ms > now - BigInt(limits.rejectOlderThanMs));
  const tooNew = limits.rejectNewerThanMs > 0 && !(ms < now + BigInt(limits.rejectNewerThanMs));
  if (tooOld || tooNew) {
    throw new DecodeError(
      'not_in_ingestion_window',
      `profile is outside of ingestion window (profile timestamp: ${ms} ms, now: ${now} ms)`,
    );
  }
}
