// Durations as people write them ("90s", "15m", "1h30m", "2d") and as seconds.

const UNIT_SECONDS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86400 };
const DURATION = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;

/** Parses "15m", "1h30m", "45s", "2d" or a whole number of seconds; returns null when it is not a duration. */
export function parseDuration(input: string | number): number | null {
  if (typeof input === "number") return Number.isSafeInteger(input) ? input : null;
  const text = input.trim();
  if (/^\d+$/.test(text)) return Number.parseInt(text, 10);
  const match = DURATION.exec(text);
  if (!match || text === "") return null;
  const [, d, h, m, s] = match;
  return (
    Number(d ?? 0) * UNIT_SECONDS.d! +
    Number(h ?? 0) * UNIT_SECONDS.h! +
    Number(m ?? 0) * UNIT_SECONDS.m! +
    Number(s ?? 0)
  );
}

/** Formats seconds the way `parseDuration` reads them back. */
export function formatDuration(seconds: number): string {
  if (seconds === 0) return "0s";
  let rest = seconds;
  let out = "";
  for (const unit of ["d", "h", "m", "s"] as const) {
    const size = UNIT_SECONDS[unit]!;
    const count = Math.floor(rest / size);
    if (count > 0) out += `${count}${unit}`;
    rest -= count * size;
  }
  return out;
}
