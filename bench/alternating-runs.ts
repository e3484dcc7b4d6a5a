// CPU time of this process, and two measured functions run in alternation: the in-process store
// benchmarks compare ours and a reference this way on a shared machine, where load drifts.

/** user + system CPU time of this process so far, ms */
export function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

/** Runs `a` and `b` once each to warm up, then `rounds` times in turn: their median CPU ms. */
export function alternate(rounds: number, a: () => void, b: () => void): [number, number] {
  a();
  b();
  const xs: number[] = [];
  const ys: number[] = [];
  for (let r = 0; r < rounds; r++) {
    let t = cpuMs();
    a();
    xs.push(cpuMs() - t);
    t = cpuMs();
    b();
    ys.push(cpuMs() - t);
  }
  return [median(xs), median(ys)];
}
