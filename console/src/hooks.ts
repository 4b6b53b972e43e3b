// Loading API data into a page, refreshing it on a timer, a clock that ticks every second, and formatting of times.
import { useCallback, useEffect, useState } from "preact/hooks";
import { describe, type Loaded } from "./api";

export function useLoad<T>(load: () => Promise<T>, deps: unknown[], refreshMs = 0): [Loaded<T>, () => void] {
  const [value, setValue] = useState<Loaded<T>>({ state: "loading" });
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  useEffect(() => {
    let live = true;
    load().then(
      (data) => live && setValue({ state: "ok", data }),
      (error: unknown) => live && setValue({ state: "error", ...describe(error) }),
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  useEffect(() => {
    if (refreshMs <= 0) return;
    const timer = setInterval(reload, refreshMs);
    return () => clearInterval(timer);
  }, [refreshMs, reload]);
  return [value, reload];
}

export function useNow(everyMs = 1000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(timer);
  }, [everyMs]);
  return now;
}

export function countdown(ms: number): string {
  if (ms <= 0) return "expired";
  const s = Math.ceil(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return h > 0 ? `${h}h ${m}m ${sec}s` : `${m}m ${String(sec).padStart(2, "0")}s`;
}

export function duration(seconds: number): string {
  if (seconds % 3600 === 0 && seconds >= 3600) return `${seconds / 3600} h`;
  if (seconds % 60 === 0 && seconds >= 60) return `${seconds / 60} min`;
  return `${seconds} s`;
}

/** A recorded time in the reader's locale; "—" when there is none. */
export const when = (iso: string | null | undefined) => (iso ? new Date(iso).toLocaleString() : "—");
