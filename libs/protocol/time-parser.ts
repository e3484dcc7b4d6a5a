// `from` / `until` of /ingest (pyroscope-protocol.md §1.3): Pyroscope's port of Graphite's
// at-time syntax. It never fails: anything unparseable is "now" plus whatever offset was read.
// Results are what Pyroscope's `time.Time.UnixNano()` gives: exact for every instant between
// 1678 and 2262, wrapped to int64 beyond (as Go's arithmetic wraps), so they always fit a pprof
// `time_nanos`.
import { goAtoi, goTrimSpace, int64 } from './go-compat.js';

const NS_PER_SECOND = 1_000_000_000n;

function isAllDigits(s: string): boolean {
  return /^[0-9]+$/.test(s);
}

function isLeapYear(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

function daysInMonth(month: number, year: number): number {
  if (month === 2) return isLeapYear(year) ? 29 : 28;
  return [31, 0, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
}

/** `YYYYMMDD` as Go's `time.Parse("20060102", s)` with year > 1900, else undefined. */
function parseDate(s: string): bigint | undefined {
  if (s.length !== 8) return undefined;
  const year = Number(s.slice(0, 4));
  const month = Number(s.slice(4, 6));
  const day = Number(s.slice(6, 8));
  if (month < 1 || month > 12) return undefined;
  if (day < 1 || day > daysInMonth(month, year)) return undefined;
  if (year <= 1900) return undefined;
  const ms = Date.UTC(year, month - 1, day);
  return int64(BigInt(ms) * 1_000_000n);
}

/** Seconds per unit, chosen by prefix exactly as Pyroscope does (`mon`/`M` before `m`). */
function unitSeconds(unit: string): bigint {
  if (unit.startsWith('s')) return 1n;
  if (unit.startsWith('mon') || unit.startsWith('M')) return 3600n * 24n * 30n;
  if (unit.startsWith('min') || unit.startsWith('m')) return 60n;
  if (unit.startsWith('h')) return 3600n;
  if (unit.startsWith('d')) return 3600n * 24n;
  if (unit.startsWith('w')) return 3600n * 24n * 7n;
  if (unit.startsWith('y')) return 3600n * 24n * 365n;
  return 0n;
}

/**
 * The offset in nanoseconds (int64 `time.Duration`). Pyroscope's loop reads the leading digits
 * as the amount and then everything up to the end as the unit, so only the first `<n><unit>`
 * counts (`-1h30m` is one hour).
 */
function parseOffset(offset: string): bigint {
  if (offset === '') return 0n;
  let sign = 1n;
  if (offset[0] === '-') {
    sign = -1n;
    offset = offset.slice(1);
  } else if (offset[0] === '+') {
    offset = offset.slice(1);
  }
  let d = 0n;
  while (offset !== '') {
    const m = /^[0-9]*/.exec(offset)![0];
    const num = goAtoi(m).value; // "" → 0, overflow → clamped, as Go returns them
    const unit = offset.slice(m.length);
    offset = '';
    const seconds = int64(int64(num * sign) * unitSeconds(unit));
    d = int64(d + int64(NS_PER_SECOND * seconds));
  }
  return d;
}

/**
 * Parses an at-time value to Unix nanoseconds. `nowNanos` is the reference for relative and
 * unparseable input (pass the server clock; the function itself reads no clock).
 *
 * - after trimming and removing `_`, `,` and spaces: all digits and a valid `YYYYMMDD` with
 *   year > 1900 → that date, midnight UTC;
 * - other all-digit values by digit count: 13 = ms, 16 = µs, 19 = ns, anything else = seconds;
 * - otherwise `now` followed by an optional `+N<unit>` / `-N<unit>` (the part before the sign
 *   is ignored; `+` is looked for before `-`).
 */
export function parseAtTime(input: string, nowNanos: bigint): bigint {
  const s = goTrimSpace(input).replace(/[_, ]/g, '');
  if (isAllDigits(s)) {
    const date = parseDate(s);
    if (date !== undefined) return date;
    const v = goAtoi(s).value;
    switch (s.length) {
      case 13:
        return int64(v * 1_000_000n);
      case 16:
        return int64(v * 1_000n);
      case 19:
        return v;
      default:
        return int64(v * NS_PER_SECOND);
    }
  }
  let offset = '';
  const plus = s.indexOf('+');
  if (plus !== -1) offset = s.slice(plus);
  else {
    const minus = s.indexOf('-');
    if (minus !== -1) offset = s.slice(minus);
  }
  return int64(nowNanos + parseOffset(offset));
}

/** Unix nanoseconds of a JS clock reading in milliseconds (e.g. `Date.now()`), for `nowNanos`. */
export function millisToNanos(ms: number): bigint {
  return BigInt(Math.trunc(ms)) * 1_000_000n;
}
