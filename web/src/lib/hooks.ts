// Small hooks the pages share.

import { useCallback, useEffect, useState } from 'preact/hooks';

/** The current time, updated every `interval_ms` while `active`. */
export function useNow(interval_ms = 1000, active = true): number {
  const [now, setNow] = useState(Date.now);
  useEffect(() => {
    if (!active) return;
    setNow(Date.now());
    const timer = window.setInterval(() => setNow(Date.now()), interval_ms);
    return () => window.clearInterval(timer);
  }, [interval_ms, active]);
  return now;
}

export function useDocumentTitle(title: string, site_name: string): void {
  useEffect(() => {
    document.title = title ? `${title} · ${site_name}` : site_name;
  }, [title, site_name]);
}

export type Loaded<T> =
  { state: 'loading' } | { state: 'ready'; value: T } | { state: 'failed'; error: unknown };

/**
 * Runs `load` when `key` changes and keeps its outcome; `reload` runs it again. A load that a
 * newer one replaced is aborted, so its late answer never overwrites the newer one.
 */
export function useLoad<T>(
  load: (signal: AbortSignal) => Promise<T>,
  key: unknown[],
): [Loaded<T>, () => void] {
  const [loaded, setLoaded] = useState<Loaded<T>>({ state: 'loading' });
  const [attempt, setAttempt] = useState(0);
  useEffect(() => {
    const controller = new AbortController();
    setLoaded({ state: 'loading' });
    load(controller.signal).then(
      (value) => controller.signal.aborted || setLoaded({ state: 'ready', value }),
      (error) => controller.signal.aborted || setLoaded({ state: 'failed', error }),
    );
    return () => controller.abort();
    // `load` is a fresh closure on every render; `key` says when it means something new.
  }, [...key, attempt]);
  const reload = useCallback(() => setAttempt((n) => n + 1), []);
  return [loaded, reload];
}

export interface Polled<T> {
  value: T | null; // the latest read's, kept while later reads fail; null before the first
  error: unknown; // the latest read's failure, null once a read succeeds
}

/**
 * Runs `load` now, and again `every_ms` after each read ends, until the component goes or `key`
 * changes (which starts over). Reads never overlap; the one in flight is aborted on the way out,
 * so a late answer never lands.
 */
export function usePolled<T>(
  load: (signal: AbortSignal) => Promise<T>,
  every_ms: number,
  key: unknown[],
): Polled<T> {
  const [polled, setPolled] = useState<Polled<T>>({ value: null, error: null });
  useEffect(() => {
    const controller = new AbortController();
    let timer = 0;
    const read = async () => {
      try {
        const value = await load(controller.signal);
        if (!controller.signal.aborted) setPolled({ value, error: null });
      } catch (error) {
        if (!controller.signal.aborted) setPolled((old) => ({ ...old, error }));
      }
      if (!controller.signal.aborted) timer = window.setTimeout(read, every_ms);
    };
    void read();
    return () => {
      controller.abort();
      window.clearTimeout(timer);
    };
    // `load` is a fresh closure on every render; `key` says when it means something new.
  }, [...key, every_ms]);
  return polled;
}
