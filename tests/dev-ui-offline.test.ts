import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../grpc/generated-paths.js';

/**
 * What `npm run dev` shows on a machine without internet, as the README
 * says: genkit-cli 1.42 cannot download the Dev UI (`Error downloading or
 * extracting UI assets zip`), the UI port answers 500, and the reflection
 * API still serves `genkit --non-interactive flow:run` and `trace:list`.
 * (tests/dev-mode.test.ts covers the reflection API and traces in depth.)
 * Skipped where the UI is already downloaded or can be.
 */

const run = promisify(execFile);
const GENKIT = join(REPO_ROOT, 'node_modules', '.bin', 'genkit');
const UI_ASSETS = join(homedir(), '.genkit', 'assets', '1.42.0', 'ui', 'browser', 'index.html');

function devEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (name.startsWith('GENKIT_') || ['GEMINI_API_KEY', 'GOOGLE_API_KEY', 'DEBUG', 'NODE_TEST_CONTEXT'].includes(name)) continue;
    env[name] = value;
  }
  return { ...env, PORT: '0', GRPC_PORT: '0', HOST: '127.0.0.1', LOG_FORMAT: 'json', GENKIT_CLI_DISABLE_UPDATE_NOTIFICATIONS: 'true' };
}

describe('npm run dev without internet', { timeout: 90_000 }, () => {
  it('reports the UI download error, answers 500 on the UI port, and flow:run and trace:list still work', async (t) => {
    if (existsSync(UI_ASSETS)) return t.skip(`the Dev UI is already downloaded (${UI_ASSETS}): nothing offline to observe`);
    // `npm run dev` is: genkit start --non-interactive -- node --import tsx main.ts
    const cli = spawn(GENKIT, ['start', '--non-interactive', '--', process.execPath, '--import', 'tsx', 'main.ts'], {
      cwd: REPO_ROOT,
      detached: true,
      env: devEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    cli.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    cli.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const until = async <T>(what: string, probe: () => T | undefined | Promise<T | undefined>): Promise<T> => {
      const deadline = Date.now() + 45_000;
      for (;;) {
        const value = await probe();
        if (value !== undefined) return value;
        if (cli.exitCode !== null || Date.now() > deadline) throw new Error(`no ${what}:\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    };
    try {
      const uiUrl = await until('Dev UI line', () => /Genkit Developer UI: (http:\/\/\S+)/.exec(output)?.[1]);
      const downloaded = await until('UI download outcome', () =>
        /Error downloading or extracting UI assets zip/.test(output) ? false : existsSync(UI_ASSETS) ? true : undefined,
      );
      if (downloaded) return t.skip('this machine could download the Dev UI: the offline behaviour does not apply');
      await until('REST server of the app', () => (/"msg":"REST listening/.test(output) ? true : undefined));
      const ui = await fetch(uiUrl);
      assert.equal(ui.status, 500);
      assert.match(await ui.text(), /ENOENT.*ui\/browser\/index\.html/);

      const flow = await run(GENKIT, ['--non-interactive', 'flow:run', 'tellJoke', '{"name":"Ada"}'], { cwd: REPO_ROOT, env: devEnv() });
      assert.match(flow.stdout, /"joke":/);
      const traceId = /Trace ID: ([0-9a-f]{32})/.exec(`${flow.stdout}${flow.stderr}`)?.[1];
      assert.ok(traceId, `flow:run prints its trace id:\n${flow.stdout}`);
      const traces = await run(GENKIT, ['--non-interactive', 'trace:list'], { cwd: REPO_ROOT, env: devEnv() });
      assert.match(traces.stdout, new RegExp(`ID:\\s+${traceId}`), 'trace:list lists the flow:run trace');
    } finally {
      try {
        process.kill(-cli.pid!, 'SIGTERM');
      } catch {
        // already gone
      }
      await new Promise((resolve) => (cli.exitCode !== null ? resolve(undefined) : cli.once('exit', resolve)));
    }
  });
});
