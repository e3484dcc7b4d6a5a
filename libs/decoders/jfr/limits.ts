/**
 * Bounds applied while decoding untrusted recordings. They are data passed by the caller (never
 * read from the environment); every one of them turns into a `JfrError` of kind `limit` when
 * exceeded. The defaults accept every real recording we know of, including multi-hundred-MB
 * JDK recordings, while keeping hostile input to bounded time and memory.
 */
export interface JfrLimits {
  /** chunks per recording */
  maxChunks: number;
  /** strings in one chunk's metadata string table */
  maxMetadataStrings: number;
  /** elements (classes, fields, annotations, settings...) in one chunk's metadata tree */
  maxMetadataElements: number;
  /** nesting depth of the metadata element tree and of inline (non constant-pool) values */
  maxNestingDepth: number;
  /** checkpoint events followed in one chunk */
  maxCheckpoints: number;
  /** constant-pool entries across one chunk (all pools, all checkpoints) */
  maxPoolEntries: number;
  /** frames kept per stack trace (deeper stacks are refused, not cut) */
  maxStackDepth: number;
  /** bytes of one decoded string (UTF-8/Latin-1 byte length, or char-array length) */
  maxStringLength: number;
  /** distinct samples per produced profile */
  maxSamplesPerProfile: number;
  /**
   * field visits of the generic value walker per input byte (plus a fixed allowance of 1M):
   * guards against metadata that describes deep inline structures consuming no bytes.
   */
  maxStepsPerByte: number;
}

export const DEFAULT_JFR_LIMITS: Readonly<JfrLimits> = Object.freeze({
  maxChunks: 10_000,
  maxMetadataStrings: 1_000_000,
  maxMetadataElements: 2_000_000,
  maxNestingDepth: 32,
  maxCheckpoints: 100_000,
  maxPoolEntries: 50_000_000,
  maxStackDepth: 65_536,
  maxStringLength: 16 * 1024 * 1024,
  maxSamplesPerProfile: 20_000_000,
  maxStepsPerByte: 64,
});

export function resolveLimits(partial?: Partial<JfrLimits>): JfrLimits {
  return { ...DEFAULT_JFR_LIMITS, ...(partial ?? {}) };
}
