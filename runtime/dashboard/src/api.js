// Reading the REST API: JSON and text fetches, a polling hook that keeps the last answer while
// the next one loads (no flicker), and the formatting of numbers, times and durations.
import { useEffect, useRef, useState } from 'preact/hooks';

/** The refresh period of every page (ms); /config's refresh-interval replaces it. */
export const refresh = { intervalMs: 3000 };

/** Fetches `path` of the REST API; resolves to its JSON, rejects with Flink's error text. */
export async function getJson(path, init) {
  const res = await fetch(path, init);
  const text = await res.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!res.ok) {
    const why = body && Array.isArray(body.errors) ? body.errors.join('; ') : text || res.statusText;
    throw new Error(`${res.status}: ${why}`);
  }
  return body;
}

/** Fetches `path` as text (logs); rejects with Flink's error text. */
export async function getText(path) {
  const res = await fetch(path);
  const text = await res.text();
  if (!res.ok) {
    let why = text;
    try {
      why = JSON.parse(text).errors.join('; ');
    } catch {
      // not Flink's error shape: keep the text
    }
    throw new Error(`${res.status}: ${why}`);
  }
  return text;
}

/**
 * Polls `load` (an async function) now and every refresh period while `key` stays the same;
 * a new `nudge` value polls at once (after a change the page made). Returns {data, error, at}:
 * the last successful answer stays while the next one loads (it is dropped when `key` changes).
 */
export function usePoll(load, key, nudge = 0) {
  const [state, setState] = useState({ data: null, error: null, at: 0 });
  const loadRef = useRef(load);
  loadRef.current = load;
  const keyRef = useRef(key);
  useEffect(() => {
    let live = true;
    let timer = null;
    if (keyRef.current !== key) {
      keyRef.current = key;
      setState({ data: null, error: null, at: 0 });
    }
    const tick = async () => {
      try {
        const data = await loadRef.current();
        if (live) setState({ data, error: null, at: Date.now() });
      } catch (e) {
        if (live) setState((s) => ({ ...s, error: e.message || String(e) }));
      }
      if (live) timer = setTimeout(tick, refresh.intervalMs);
    };
    tick();
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [key, nudge]);
  return state;
}

const MIN_WATERMARK = -9.2e18;

export function formatTime(ms) {
  if (!ms || ms < 0) return '–';
  const d = new Date(ms);
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function formatDuration(ms) {
  if (ms === undefined || ms === null || ms < 0) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  let s = Math.floor(ms / 1000);
  const parts = [];
  for (const [unit, size] of [['d', 86400], ['h', 3600], ['m', 60]]) {
    if (s >= size) {
      parts.push(`${Math.floor(s / size)}${unit}`);
      s %= size;
    }
  }
  parts.push(`${s}s`);
  return parts.slice(0, 3).join(' ');
}

export function formatCount(n) {
  if (n === undefined || n === null || Number.isNaN(n)) return '–';
  if (Math.abs(n) >= 1e9) return `${(n / 1e9).toFixed(2)} G`;
  if (Math.abs(n) >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (Math.abs(n) >= 1e4) return `${(n / 1e3).toFixed(1)} K`;
  return Number.isInteger(n) ? String(n) : n.toFixed(1);
}

export function formatBytes(n) {
  if (n === undefined || n === null || n < 0) return '–';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i += 1;
  }
  return `${i ? n.toFixed(1) : n} ${units[i]}`;
}

export function formatWatermark(ms) {
  if (ms === undefined || ms === null || ms <= MIN_WATERMARK) return 'No watermark';
  return formatTime(ms);
}

export function formatPercent(ratio) {
  if (ratio === undefined || ratio === null || Number.isNaN(ratio)) return '–';
  return `${Math.round(ratio * 100)}%`;
}
