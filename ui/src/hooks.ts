import { useEffect, useState } from 'react';

export interface Async<T> {
  data: T | undefined;
  error: Error | undefined;
  loading: boolean;
}

/** Runs `load` whenever `deps` change; a stale answer never overwrites a newer one. */
export function useAsync<T>(load: (() => Promise<T>) | null, deps: unknown[]): Async<T> {
  const [state, setState] = useState<Async<T>>({
    data: undefined,
    error: undefined,
    loading: load !== null,
  });
  useEffect(() => {
    if (!load) {
      setState({ data: undefined, error: undefined, loading: false });
      return;
    }
    let current = true;
    setState((s) => ({ ...s, loading: true, error: undefined }));
    load().then(
      (data) => current && setState({ data, error: undefined, loading: false }),
      (error: Error) => current && setState({ data: undefined, error, loading: false }),
    );
    return () => {
      current = false;
    };
    // the caller lists what `load` depends on
  }, deps);
  return state;
}
