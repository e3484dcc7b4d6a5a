import type { Int64, Label, Profile, ValueType } from './profile.js';
import { emptyProfile } from './profile.js';

/**
 * Builds a Profile from symbolised stacks, the way text and JFR decoders need it.
 *
 * Contract: functions are interned by (name, filename), locations by (function, line), so the
 * same frame name always maps to the same location id. Samples are appended as given; merging
 * identical stacks is the normaliser's job, not the builder's. `build()` hands over the
 * profile it has built; the builder must not be used afterwards.
 */
export class ProfileBuilder {
  private readonly profile: Profile = emptyProfile();
  private readonly strings = new Map<string, number>([['', 0]]);
  private readonly functions = new Map<string, number>();
  private readonly locations = new Map<string, number>();

  /** Returns the string-table index of `s`, adding it when new. */
  string(s: string): number {
    let idx = this.strings.get(s);
    if (idx === undefined) {
      idx = this.profile.stringTable.length;
      this.profile.stringTable.push(s);
      this.strings.set(s, idx);
    }
    return idx;
  }

  sampleType(type: string, unit: string): this {
    this.profile.sampleType.push({ type: this.string(type), unit: this.string(unit) });
    return this;
  }

  period(type: string, unit: string, period: Int64): this {
    const pt: ValueType = { type: this.string(type), unit: this.string(unit) };
    this.profile.periodType = pt;
    this.profile.period = period;
    return this;
  }

  time(timeNanos: Int64, durationNanos: Int64): this {
    this.profile.timeNanos = timeNanos;
    this.profile.durationNanos = durationNanos;
    return this;
  }

  /** Returns the location id for a frame, creating the function and location when new. */
  location(name: string, filename = '', line = 0): number {
    const fkey = filename === '' ? name : `${name}\u0000${filename}`;
    let fid = this.functions.get(fkey);
    if (fid === undefined) {
      fid = this.profile.function.length + 1;
      const nameIdx = this.string(name);
      this.profile.function.push({
        id: fid,
        name: nameIdx,
        systemName: nameIdx,
        filename: this.string(filename),
        startLine: 0,
      });
      this.functions.set(fkey, fid);
    }
    const lkey = line === 0 ? fid : `${fid}:${line}`;
    const lk = String(lkey);
    let lid = this.locations.get(lk);
    if (lid === undefined) {
      lid = this.profile.location.length + 1;
      this.profile.location.push({
        id: lid,
        mappingId: 0,
        address: 0,
        line: [{ functionId: fid, line, column: 0 }],
        isFolded: false,
      });
      this.locations.set(lk, lid);
    }
    return lid;
  }

  /**
   * Adds a sample. `locationIds` are leaf first, as pprof stores them. `labels` are string
   * pairs; they become pprof string labels.
   */
  sample(locationIds: number[], values: Int64[], labels?: ReadonlyArray<[string, string]>): this {
    let label: Label[] = [];
    if (labels && labels.length > 0) {
      label = labels.map(([k, v]) => ({
        key: this.string(k),
        str: this.string(v),
        num: 0,
        numUnit: 0,
      }));
    }
    this.profile.sample.push({ locationId: locationIds, value: values, label });
    return this;
  }

  /** Adds a sample from a root-first list of frame names (the order folded text uses). */
  stack(
    rootFirst: readonly string[],
    values: Int64[],
    labels?: ReadonlyArray<[string, string]>,
  ): this {
    const ids = new Array<number>(rootFirst.length);
    for (let i = 0; i < rootFirst.length; i++) {
      ids[rootFirst.length - 1 - i] = this.location(rootFirst[i]);
    }
    return this.sample(ids, values, labels);
  }

  build(): Profile {
    return this.profile;
  }
}
