import cluster from 'node:cluster';
import { ConfigError, parseCli } from './server/config.js';
import { createLogger, routeGenkitLogs } from './server/logger.js';
import { startServer } from './server/start-server.js';
import { startTelemetry } from './telemetry/start-telemetry.js';

/** How long shutdown waits for buffered spans to reach the exporter. */
const TRACE_FLUSH_MS = 5000;

/** Entry point of `npm start`: parse the config, start the surfaces, stop them on SIGTERM/SIGINT. */
async function main(): Promise<void> {
  let cli;
  try {
    cli = parseCli(process.argv.slice(2), process.env);
  } catch (e: unknown) {
    if (!(e instanceof ConfigError)) throw e;
    process.stderr.write(`${e.message}\n`);
    process.exit(2);
  }
  if (cli.kind === 'help') {
    process.stdout.write(`${cli.text}\n`);
    return;
  }
  const logger = createLogger({ level: cli.config.logLevel, format: cli.config.logFormat });
  routeGenkitLogs(logger);
  if (cli.config.workers > 1 && cluster.isPrimary) {
    // WEB_CONCURRENCY > 1: this process only supervises; each worker runs the rest of main().
    const { runPrimary } = await import('./server/cluster.js');
    await runPrimary(cli.config, logger);
    logger.flush(() => process.exit());
    return;
  }
  // Tracing first: the tracer provider must exist before the first request.
  const telemetry = await startTelemetry(cli.config.telemetry, logger);
  const server = await startServer(cli.config, logger);

  let stopping = false;
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, graceMs: cli.config.shutdownGraceMs }, 'Shutting down: finishing in-flight calls');
    await server.close();
    await telemetry.flush(TRACE_FLUSH_MS);
    logger.info('Stopped');
    // The stdout destination buffers; exit once what it holds is written.
    logger.flush(() => process.exit(0));
  };
  // Importing `genkit` installs SIGTERM/SIGINT handlers that call process.exit(0)
  // at once (genkit 1.42, lib/genkit.mjs), which would cut in-flight calls
  // short. This process owns its shutdown, so only our handler stays.
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.removeAllListeners(signal);
    process.on(signal, stop);
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`Failed to start: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
