// Values in a profile's sample unit (ProfileType.sampleUnit), as people read them.

export function formatValue(v: number, unit: string): string {
  switch (unit) {
    case 'nanoseconds':
      return duration(v / 1e9);
    case 'microseconds':
      return duration(v / 1e6);
    case 'milliseconds':
      return duration(v / 1e3);
    case 'seconds':
      return duration(v);
    case 'bytes':
      return bytes(v);
    default:
      return `${short(v)}${unit && unit !== 'count' ? ` ${unit}` : ''}`;
  }
}

export function duration(s: number): string {
  const a = Math.abs(s);
  if (a === 0) return '0 s';
  if (a < 1e-6) return `${trim(s * 1e9)} ns`;
  if (a < 1e-3) return `${trim(s * 1e6)} µs`;
  if (a < 1) return `${trim(s * 1e3)} ms`;
  if (a < 60) return `${trim(s)} s`;
  if (a < 3600) return `${trim(s / 60)} min`;
  if (a < 86400) return `${trim(s / 3600)} h`;
  return `${trim(s / 86400)} d`;
}

export function bytes(b: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = b;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? String(Math.round(v)) : trim(v)} ${units[i]}`;
}

export function short(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e12) return `${trim(v / 1e12)}T`;
  if (a >= 1e9) return `${trim(v / 1e9)}G`;
  if (a >= 1e6) return `${trim(v / 1e6)}M`;
  if (a >= 1e3) return `${trim(v / 1e3)}k`;
  return trim(v);
}

function trim(v: number): string {
  const a = Math.abs(v);
  const s = a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : v.toFixed(2);
  return s.includes('.') ? s.replace(/\.?0+$/, '') : s;
}

export function percent(part: number, whole: number): string {
  if (whole <= 0) return '0%';
  const p = (part / whole) * 100;
  return `${p >= 10 ? p.toFixed(1) : p >= 0.01 || p === 0 ? p.toFixed(2) : '<0.01'}%`;
}

export function signedPercent(change: number): string {
  if (change === Infinity) return 'new';
  if (change === -1) return 'removed';
  const p = change * 100;
  return `${p >= 0 ? '+' : ''}${Math.abs(p) >= 10 ? p.toFixed(0) : p.toFixed(1)}%`;
}

export function dateTime(ms: number): string {
  const d = new Date(ms);
  const pad = (x: number): string => String(x).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function ago(ms: number | null, now = Date.now()): string {
  if (ms === null || ms === undefined) return '—';
  const s = Math.max(0, (now - ms) / 1000);
  if (s < 60) return `${Math.round(s)} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

/** "2026-11-25 08:28:43 – 09:28:43" (the date once when both ends share it) */
export function rangeText(from: number, until: number): string {
  const a = dateTime(from);
  const b = dateTime(until);
  return a.slice(0, 10) === b.slice(0, 10) ? `${a} – ${b.slice(11)}` : `${a} – ${b}`;
}
