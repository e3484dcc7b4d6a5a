import { useEffect, useState } from 'react';

export interface Async<T> {
  data: T | undefined;
  error: Error | undefined;
  loading: boolean;
  /**
   * `data` answers the current `deps`. Right after the deps change (another tenant, another
   * range) the previous answer is still shown while the next one loads; a decision that must
   * not act on the previous answer (picking a default from it) checks this.
   */
  current: boolean;
}

const sameDeps = (a: unknown[] | null, b: unknown[]): boolean =>
  a !== null && a.length === b.length && a.every((x, i) => Object.is(x, b[i]));

/** Runs `load` whenever `deps` change; a stale answer never overwrites a newer one. */
export function useAsync<T>(load: (() => Promise<T>) | null, deps: unknown[]): Async<T> {
  const [state, setState] = useState<Omit<Async<T>, 'current'> & { for: unknown[] | null }>({
    data: undefined,
    error: undefined,
    loading: load !== null,
    for: null,
  });
  useEffect(() => {
    if (!load) {
      setState({ data: undefined, error: undefined, loading: false, for: deps });
      return;
    }
    let current = true;
    setState((s) => ({ ...s, loading: true, error: undefined }));
    load().then(
      (data) => current && setState({ data, error: undefined, loading: false, for: deps }),
      (error: Error) => current && setState({ data: undefined, error, loading: false, for: deps }),
    );
    return () => {
      current = false;
    };
    // the caller lists what `load` depends on
  }, deps);
  return {
    data: state.data,
    error: state.error,
    loading: state.loading,
    current: sameDeps(state.for, deps),
  };
}
