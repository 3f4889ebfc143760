import type { Logger } from 'pino';

/**
 * Repeated warnings become one line per key and window instead of one line
 * each: under a flood, cheap rejections (rate-limited calls, refused
 * connections) must stay cheap, and tens of thousands of identical log lines
 * are neither cheap nor readable. The first occurrence in a window is logged
 * at once (with its fields); the rest are counted and reported when the
 * window ends ("… ×N in the last 10 s").
 */
export interface WarningSummary {
  note(key: string, message: string, fields?: Record<string, unknown>): void;
  /** Reports what is pending now (shutdown calls it so no count is lost). */
  flush(): void;
  stop(): void;
}

interface Pending {
  message: string;
  suppressed: number;
  fields: Record<string, unknown> | undefined;
}

export const WARNING_WINDOW_MS = 10_000;

export function createWarningSummary(logger: Logger, windowMs = WARNING_WINDOW_MS): WarningSummary {
  const pending = new Map<string, Pending>();
  const flush = () => {
    for (const [key, entry] of pending) {
      if (entry.suppressed > 0) {
        logger.warn(
          { ...entry.fields, warning: key, repeated: entry.suppressed, windowMs },
          `${entry.message} (×${entry.suppressed} more in the last ${Math.round(windowMs / 1000)} s)`,
        );
      }
    }
    pending.clear();
  };
  const timer = setInterval(flush, windowMs);
  timer.unref();
  return {
    note(key, message, fields) {
      const entry = pending.get(key);
      if (entry) {
        entry.suppressed++;
        entry.fields = fields;
        return;
      }
      pending.set(key, { message, suppressed: 0, fields });
      logger.warn({ ...fields, warning: key }, message);
    },
    flush,
    stop() {
      clearInterval(timer);
      flush();
    },
  };
}
