// Loading an admin API resource into a component, with reload and optional polling.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { api, type Query } from './api';

export interface Resource<T> {
  data: T | null;
  error: unknown;
  loading: boolean;
  reload(): void;
}

/** GETs `path` (null → nothing) whenever path or query change; `pollMs` refreshes in the background. */
export function useApi<T>(path: string | null, query?: Query, pollMs?: number): Resource<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(path !== null);
  const key = path === null ? null : `${path}?${JSON.stringify(query ?? {})}`;
  const seq = useRef(0);

  const load = useCallback(
    (background: boolean) => {
      if (path === null) return;
      const mine = ++seq.current;
      if (!background) setLoading(true);
      api<T>(path, { query })
        .then((d) => {
          if (mine !== seq.current) return;
          setData(d);
          setError(null);
        })
        .catch((e: unknown) => {
          if (mine !== seq.current) return;
          setError(e);
          if (!background) setData(null);
        })
        .finally(() => {
          if (mine === seq.current) setLoading(false);
        });
    },
    [key],
  );

  useEffect(() => {
    setData(null);
    setError(null);
    load(false);
    if (!pollMs || path === null) return;
    const t = setInterval(() => load(true), pollMs);
    return () => clearInterval(t);
  }, [load, pollMs]);

  return { data, error, loading, reload: () => load(true) };
}
