import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { REPO_ROOT } from '../grpc/generated-paths.js';

/**
 * Dev mode: `genkit start` runs the same app (as `npm run dev:api` does);
 * Genkit's reflection API (what the Dev UI talks to) lists and runs every
 * flow, tool, prompt and model, and its telemetry server receives the traces.
 * The web UI itself is downloaded on first start (needs internet), so --noui.
 */

const RUNTIMES_DIR = join(REPO_ROOT, '.genkit/runtimes');

/** The process group of a pid, from /proc (Linux). */
async function processGroupOf(pid: number): Promise<number | null> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
  } catch {
    return null;
  }
}

/** Finds the reflection server our app (a member of the CLI's process group) registered. */
async function reflectionUrlOf(group: number, deadline: number): Promise<string> {
  while (Date.now() < deadline) {
    for (const file of await readdir(RUNTIMES_DIR).catch(() => [])) {
      const runtime = JSON.parse(await readFile(join(RUNTIMES_DIR, file), 'utf8').catch(() => '{}')) as { pid?: number; reflectionServerUrl?: string };
      if (runtime.pid && runtime.reflectionServerUrl && (await processGroupOf(runtime.pid)) === group) {
        try {
          if ((await fetch(`${runtime.reflectionServerUrl}/api/__health`)).ok) return runtime.reflectionServerUrl;
        } catch {
          // not listening yet
        }
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error('the reflection API did not come up');
}

describe('dev mode under genkit start (reflection API and telemetry server)', () => {
  let cli: ChildProcess;
  let exited: Promise<void>;
  let reflection: string;
  let telemetry: string;

  before(async () => {
    cli = spawn('node_modules/.bin/genkit', ['start', '--non-interactive', '--noui', '--', process.execPath, '--import', 'tsx', 'main.ts'], {
      cwd: REPO_ROOT,
      detached: true, // its own process group, like setsid, so the whole tree can be stopped
      env: { ...process.env, PORT: '0', GRPC_PORT: '0', HOST: '127.0.0.1', GEMINI_API_KEY: '', GOOGLE_API_KEY: '', LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    exited = new Promise((resolve) => cli.once('exit', () => resolve()));
    const deadline = Date.now() + 60_000;
    telemetry = await new Promise<string>((resolve, reject) => {
      let output = '';
      const timer = setTimeout(() => reject(new Error(`no telemetry server line:\n${output}`)), 60_000);
      cli.stdout!.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const match = /Telemetry API running on (http:\/\/[\d.]+:\d+)/.exec(output);
        if (match?.[1]) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      });
    });
    reflection = await reflectionUrlOf(cli.pid!, deadline);
  });

  after(async () => {
    if (cli.exitCode === null) {
      process.kill(-cli.pid!, 'SIGTERM');
      const killer = setTimeout(() => process.kill(-cli.pid!, 'SIGKILL'), 5000);
      await exited;
      clearTimeout(killer);
    }
  });

  it('lists every flow, the tool, the prompt and the offline model', async () => {
    const actions = (await (await fetch(`${reflection}/api/actions`)).json()) as Record<string, unknown>;
    const keys = Object.keys(actions);
    const flows = keys.filter((k) => k.startsWith('/flow/')).sort();
    assert.deepEqual(flows, [
      '/flow/describeImage',
      '/flow/generateCharacter',
      '/flow/generateCode',
      '/flow/pirateChat',
      '/flow/reviewCode',
      '/flow/tellJoke',
      '/flow/tellStory',
      '/flow/translateText',
    ]);
    assert.ok(keys.includes('/tool/getCurrentTime'));
    assert.ok(keys.includes('/prompt/code_review'));
    assert.ok(keys.includes('/model/offline/deterministic'));
    const tellJoke = actions['/flow/tellJoke'] as { description?: string; inputSchema?: { properties?: Record<string, unknown> } };
    assert.match(String(tellJoke.description), /family-friendly joke/);
    assert.deepEqual(Object.keys(tellJoke.inputSchema?.properties ?? {}), ['name', 'username']);
  });

  it('runs a flow with `{}` using its defaults, and the trace reaches the telemetry server', async () => {
    const res = await fetch(`${reflection}/api/runAction`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ key: '/flow/tellJoke', input: {} }),
    });
    const body = (await res.json()) as { result: { joke: string }; telemetry: { traceId: string } };
    assert.match(body.result.joke, /Mittens/);
    assert.match(body.telemetry.traceId, /^[0-9a-f]{32}$/);

    let trace: { traceId?: string; displayName?: string; spans?: Record<string, { attributes: Record<string, unknown> }> } = {};
    for (let i = 0; i < 40 && trace.traceId !== body.telemetry.traceId; i++) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      const found = await fetch(`${telemetry}/api/traces/${body.telemetry.traceId}`);
      if (found.ok) trace = (await found.json()) as typeof trace;
    }
    assert.equal(trace.traceId, body.telemetry.traceId);
    assert.equal(trace.displayName, 'tellJoke');
    const names = Object.values(trace.spans ?? {}).map((s) => s.attributes['genkit:name']);
    assert.ok(names.includes('offline/deterministic'), `model span present: ${names.join(', ')}`);
  });

  it('runs the prompt and the tool directly', async () => {
    const tool = (await (
      await fetch(`${reflection}/api/runAction`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ key: '/tool/getCurrentTime', input: {} }),
      })
    ).json()) as { result: { utc: string } };
    assert.match(tool.result.utc, /^\d{4}-\d{2}-\d{2}T/);
    const rendered = (await (
      await fetch(`${reflection}/api/runAction`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ key: '/prompt/code_review', input: { code: 'x = 1', language: 'python' } }),
      })
    ).json()) as { result: { messages: { role: string; content: { text?: string }[] }[] } };
    const text = rendered.result.messages.flatMap((m) => m.content.map((p) => p.text ?? '')).join('\n');
    assert.match(text, /Review the following python code/);
  });
});
