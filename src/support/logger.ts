// The broker's logger: pino, JSON lines, with the places a secret could appear redacted before anything is written.
import { pino } from "pino";

export type Logger = pino.Logger;

const REDACT_PATHS = [
  "req.headers.authorization",
  "req.headers.cookie",
  "headers.authorization",
  "authorization",
  "password",
  "token",
  "credential",
  "*.password",
  "*.token",
  "*.credential",
  "*.secret",
];

export function createLogger(options: { level?: string; destination?: pino.DestinationStream } = {}): Logger {
  const settings: pino.LoggerOptions = {
    level: options.level ?? "info",
    redact: { paths: REDACT_PATHS, censor: "[REDACTED]" },
    base: { service: "ephemera" },
  };
  return options.destination ? pino(settings, options.destination) : pino(settings);
}

/** A logger that writes nothing; for tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
