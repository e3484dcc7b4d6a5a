/**
 * Keeps one instance of each hot class alive for the life of the process.
 *
 * V8's optimised code refers to the hidden classes ("maps") of the objects it was specialised for
 * only weakly. A decode creates its readers, pools and builders, and drops them all at the end; at
 * the next full GC their maps die with them, every function optimised for them is thrown away, and
 * the next decode runs in the interpreter until it is re-optimised. Measured on async-profiler.jfr
 * that is a 3× slowdown for a service that decodes one recording at a time. An anchor instance per
 * class (built the same way, so it has the same final map) keeps the maps, and the code, alive.
 */
const anchors: object[] = [];

export function anchorMaps(...objects: object[]): void {
  for (const o of objects) anchors.push(o);
}
