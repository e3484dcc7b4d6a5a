// A small client of the query API, as a user (or Grafana) would call it.

export interface FlamegraphAnswer {
  flamegraph: { names: string[]; levels: { values: string[] }[]; total: string; maxSelf: string };
}

export async function selectMergeStacktraces(
  url: string,
  body: { profileTypeID: string; labelSelector: string; start: number; end: number },
  headers: Record<string, string> = {},
): Promise<FlamegraphAnswer> {
  const r = await fetch(`${url}/querier.v1.QuerierService/SelectMergeStacktraces`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const text = await r.text();
  if (r.status !== 200) throw new Error(`SelectMergeStacktraces answered ${r.status}: ${text}`);
  return JSON.parse(text) as FlamegraphAnswer;
}

/** self value per frame name, summed over the flame graph */
export function selfByName(fg: FlamegraphAnswer['flamegraph']): Map<string, number> {
  const out = new Map<string, number>();
  for (const level of fg.levels) {
    for (let i = 0; i < level.values.length; i += 4) {
      const name = fg.names[Number(level.values[i + 3])];
      out.set(name, (out.get(name) ?? 0) + Number(level.values[i + 2]));
    }
  }
  return out;
}

export async function waitFor<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined>,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`,
      );
    await new Promise((r) => setTimeout(r, 250));
  }
}
