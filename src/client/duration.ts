// Durations in the agent's config and the CLI's waits: "90s", "15m", "1h30m", "2d", "500ms", or whole seconds.

const DURATION = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;

/** Milliseconds, or null when `input` is not a duration. */
export function parseDurationMs(input: string | number): number | null {
  if (typeof input === "number") return Number.isSafeInteger(input) && input >= 0 ? input * 1000 : null;
  const text = input.trim();
  if (/^\d+$/.test(text)) return Number.parseInt(text, 10) * 1000;
  const match = DURATION.exec(text);
  if (match === null || text === "") return null;
  const [, d, h, m, s, ms] = match.map((part) => Number(part ?? 0));
  return ((((d ?? 0) * 24 + (h ?? 0)) * 60 + (m ?? 0)) * 60 + (s ?? 0)) * 1000 + (ms ?? 0);
}
