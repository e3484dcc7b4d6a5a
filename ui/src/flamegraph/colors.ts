import type { Frame } from './model';
import { diffChange } from './model';

// Frame colours: warm hues by package (so one library reads as one colour band), grey for
// frames that do not match an active search, and for diffs red (grew) to green (shrank) by the
// change of the frame's share of its side's total.

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return h >>> 0;
}

/** The package part of a frame name: "net/http.(*conn).serve" → "net/http", "a.b.C.m" → "a.b.C". */
export function packageOf(name: string): string {
  const paren = name.indexOf('(');
  const head = paren > 0 ? name.slice(0, paren) : name;
  const cut = Math.max(head.lastIndexOf('.'), head.lastIndexOf('::'), head.lastIndexOf('/'));
  return cut > 0 ? head.slice(0, cut) : head;
}

export function frameColor(f: Frame): string {
  if (f.level === 0) return 'hsl(0 0% 62%)';
  const h = hash(packageOf(f.name));
  const hue = 10 + (h % 40); // red-orange-yellow, light enough for dark labels
  const light = 62 + ((h >> 8) % 12);
  return `hsl(${hue} 85% ${light}%)`;
}

export const DIMMED = 'hsl(220 10% 86%)';

export function diffColor(f: Frame, diff: { leftTicks: number; rightTicks: number }): string {
  const c = diffChange(f, diff);
  if (Math.abs(c) < 0.02) return 'hsl(220 8% 74%)';
  const strength = Math.min(1, Math.abs(c === Infinity ? 1 : c));
  const light = 82 - strength * 32;
  return c > 0 ? `hsl(0 80% ${light}%)` : `hsl(130 55% ${light}%)`;
}
