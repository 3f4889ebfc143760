import { pino, type DestinationStream, type Logger } from 'pino';

export interface LoggerOptions {
  /** pino level name. */
  level: string;
  /** Where JSON lines go; stdout when omitted (tests pass a capture stream). */
  destination?: DestinationStream;
}

/** Paths whose values are secrets: they never reach a log line. */
export const REDACTED_PATHS = [
  'apiKey',
  '*.apiKey',
  'config.model.apiKey',
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-goog-api-key"]',
  'headers.authorization',
  'headers.cookie',
];

export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level,
      base: { service: 'genkit-flow-gateway' },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}
