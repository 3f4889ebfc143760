import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

/**
 * Dev mode, end to end: `npm run dev:api` (genkit-cli 1.42 `genkit start --noui`)
 * runs our real main.ts. The CLI starts a telemetry server (first free port from
 * 4033) and hands its URL to the app as GENKIT_TELEMETRY_SERVER, with
 * GENKIT_ENV=dev; in dev mode Genkit starts a reflection API in the app (first
 * free port from 3100; no env var or flag chooses it in 1.42) and announces it
 * in `.genkit/runtimes/<pid>-<port>-<ms>.json`. Nothing here assumes 3100 or
 * 4033: the telemetry URL comes from the CLI's start-up line, the reflection URL
 * from the runtime file written by a process of the CLI's own process group.
 *
 * The Dev UI itself is downloaded on first start (needs internet), hence
 * --noui; --non-interactive skips the analytics question.
 * Linux only (/proc is read to tell our runtime file from others').
 */

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
const RUNTIMES_DIR = join(REPO_ROOT, '.genkit', 'runtimes');
const START_TIMEOUT_MS = 45_000;
const STOP_TIMEOUT_MS = 15_000;

/** Every action Genkit 1.42 registers for our app: 8 flows, 1 tool, 1 prompt, the offline model and its resilient wrapper. */
const EXPECTED_ACTIONS = [
  '/executable-prompt/code_review',
  '/flow/describeImage',
  '/flow/generateCharacter',
  '/flow/generateCode',
  '/flow/pirateChat',
  '/flow/reviewCode',
  '/flow/tellJoke',
  '/flow/tellStory',
  '/flow/translateText',
  '/model/offline/deterministic',
  '/model/resilient/offline/deterministic',
  '/prompt/code_review',
  '/tool.v2/getCurrentTime',
  '/tool/getCurrentTime',
  '/util/generate',
];

interface RuntimeFile {
  id: string;
  pid: number;
  reflectionServerUrl: string;
  genkitVersion: string;
}

interface ActionDesc {
  key: string;
  name: string;
  inputSchema?: { properties?: Record<string, { default?: unknown }> };
}

interface Span {
  spanId: string;
  parentSpanId?: string;
  displayName: string;
  /** Epoch ms; 0 while the span has only been reported as started. */
  endTime: number;
  attributes: Record<string, unknown>;
}

interface Trace {
  traceId: string;
  displayName: string;
  spans: Record<string, Span>;
}

/** `npm run dev:api`, with `genkit` and `node` resolved to this checkout and this Node. */
async function devApiCommand(): Promise<{ command: string; args: string[] }> {
  const pkg = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const [bin, ...args] = pkg.scripts['dev:api']!.trim().split(/\s+/);
  assert.equal(bin, 'genkit');
  // Without these the CLI would download the UI or wait on a question, and the test would hang.
  assert.ok(args.includes('--noui') && args.includes('--non-interactive'), `dev:api = ${pkg.scripts['dev:api']}`);
  const app = args.indexOf('--') + 1;
  assert.ok(app > 0, 'dev:api passes the app command after --');
  if (args[app] === 'node') args[app] = process.execPath;
  return { command: join(REPO_ROOT, 'node_modules', '.bin', 'genkit'), args };
}

/** The environment of the CLI (and so of the app): offline model, free ports, nothing Genkit-related inherited. */
function devEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    // GENKIT_TELEMETRY_SERVER would stop the CLI from starting its own telemetry server.
    if (name.startsWith('GENKIT_') || ['GEMINI_API_KEY', 'GOOGLE_API_KEY', 'GEMINI_BASE_URL', 'DEBUG', 'NODE_TEST_CONTEXT'].includes(name)) continue;
    env[name] = value;
  }
  return {
    ...env,
    PORT: '0',
    GRPC_PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    LOG_FORMAT: 'json',
    // The CLI would otherwise ask registry.npmjs.org for a newer version on every start.
    GENKIT_CLI_DISABLE_UPDATE_NOTIFICATIONS: 'true',
  };
}

/** The process group of a pid (field 5 of /proc/<pid>/stat), or null once it is gone. */
async function processGroupOf(pid: number): Promise<number | null> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
  } catch {
    return null;
  }
}

/** True while any process of the group is alive (signal 0 only checks). */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (e: unknown) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw e;
  }
}

async function waitGroupGone(pgid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (groupAlive(pgid)) {
    if (Date.now() > deadline) return false;
    await sleep(100);
  }
  return true;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function fetchText(url: string, init?: RequestInit): Promise<{ status: number; text: string; headers: Headers }> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

async function runAction(reflection: string, key: string, input: unknown) {
  const res = await fetchText(`${reflection}/api/runAction`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ key, input }),
  });
  assert.equal(res.status, 200, res.text);
  const body = JSON.parse(res.text) as { result?: unknown; error?: unknown; telemetry?: { traceId?: string } };
  assert.equal(body.error, undefined, res.text);
  return { body, traceHeader: res.headers.get('x-genkit-trace-id') };
}

describe('dev mode: `npm run dev:api` (genkit start --noui) with our main.ts', () => {
  let cli: ChildProcess;
  let cliExit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  let output = '';
  let telemetry = ''; // e.g. http://127.0.0.1:4033
  let reflection = ''; // e.g. http://localhost:3100
  let runtime: RuntimeFile;
  let runtimeFile = '';
  let restPort = 0;
  let jokeTraceId = '';
  let jokeResult: unknown;

  /** Retries `probe` until it returns a value; fails at the deadline or when the CLI has exited. */
  async function until<T>(what: string, deadline: number, probe: () => Promise<T | undefined>): Promise<T> {
    for (;;) {
      const value = await probe().catch(() => undefined);
      if (value !== undefined) return value;
      if (cli.exitCode !== null || cli.signalCode !== null) throw new Error(`genkit start exited (${cli.exitCode ?? cli.signalCode}) before ${what}:\n${output}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${output}`);
      await sleep(200);
    }
  }

  before(async () => {
    const { command, args } = await devApiCommand();
    cli = spawn(command, args, {
      cwd: REPO_ROOT,
      detached: true, // setsid: the CLI, the app and esbuild share one process group, stopped as a whole
      env: devEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    cliExit = new Promise((resolve) => cli.once('exit', (code, signal) => resolve({ code, signal })));
    // The app's stdio is inherited from the CLI (start.js does not pass nonInteractive to the ProcessManager),
    // so both the CLI's lines and the app's pino lines arrive here. Always drained, so no pipe fills up.
    const collect = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-200_000);
    };
    cli.stdout!.on('data', collect);
    cli.stderr!.on('data', collect);

    const deadline = Date.now() + START_TIMEOUT_MS;
    telemetry = await until('the telemetry server', deadline, async () => /Telemetry API running on (http:\/\/\S+:\d+)/.exec(output)?.[1]);
    restPort = await until('the REST server', deadline, async () => {
      const port = /"msg":"REST listening on http:\/\/127\.0\.0\.1:(\d+)"/.exec(output)?.[1];
      return port === undefined ? undefined : Number(port);
    });
    // Other dev runtimes of this repo may be registered too; ours is the one whose process is in the CLI's group.
    [runtimeFile, runtime] = await until('the reflection API', deadline, async () => {
      for (const name of await readdir(RUNTIMES_DIR)) {
        const file = join(RUNTIMES_DIR, name);
        let info: Partial<RuntimeFile>;
        try {
          info = JSON.parse(await readFile(file, 'utf8')) as Partial<RuntimeFile>;
        } catch {
          continue; // being written, or just pruned by a CLI
        }
        if (!info.pid || !info.reflectionServerUrl || (await processGroupOf(info.pid)) !== cli.pid) continue;
        const health = await fetchText(`${info.reflectionServerUrl}/api/__health?id=${info.id}`);
        if (health.status === 200) return [file, info as RuntimeFile] as const;
      }
      return undefined;
    });
    reflection = runtime.reflectionServerUrl;
  });

  after(async () => {
    if (cli?.pid === undefined) return;
    if (groupAlive(cli.pid)) {
      process.kill(-cli.pid, 'SIGTERM');
      if (!(await waitGroupGone(cli.pid, STOP_TIMEOUT_MS)) && groupAlive(cli.pid)) {
        process.kill(-cli.pid, 'SIGKILL');
        await waitGroupGone(cli.pid, 5_000);
      }
    }
    await cliExit;
    // Should the app die before cleaning up, remove its runtime file (and only ours).
    if (runtimeFile) await rm(runtimeFile, { force: true });
  });

  it('wires the app into dev mode: GENKIT_ENV=dev, the CLI telemetry server, a reflection API, and REST on a free port', async (t) => {
    t.diagnostic(`telemetry ${telemetry}, reflection ${reflection} (pid ${runtime.pid}), REST 127.0.0.1:${restPort}`);
    assert.match(telemetry, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.match(reflection, /^http:\/\/localhost:\d+$/);
    assert.equal(runtime.id, `${runtime.pid}-${new URL(reflection).port}`);
    assert.equal(runtime.genkitVersion, 'nodejs/1.42.0');
    assert.equal(await processGroupOf(runtime.pid), cli.pid);
    assert.notEqual(runtime.pid, cli.pid, 'the runtime is the app, a child of the CLI');

    // What the CLI put into the app's environment (what makes it a dev runtime and where its traces go).
    const environ = Object.fromEntries(
      (await readFile(`/proc/${runtime.pid}/environ`, 'utf8'))
        .split('\0')
        .filter(Boolean)
        .map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]),
    ) as Record<string, string>;
    assert.equal(environ.GENKIT_ENV, 'dev');
    assert.equal(environ.GENKIT_TELEMETRY_SERVER, `http://localhost:${new URL(telemetry).port}`);
    assert.equal(environ.GEMINI_API_KEY, undefined);
    assert.equal(environ.GOOGLE_API_KEY, undefined);

    assert.deepEqual(await fetchText(`${telemetry}/api/__health`).then((r) => [r.status, r.text]), [200, 'OK']);
    assert.deepEqual(JSON.parse((await fetchText(`${reflection}/api/envs`)).text), ['dev']);
    const defaultModel = JSON.parse((await fetchText(`${reflection}/api/values?type=defaultModel`)).text) as Record<string, unknown>;
    assert.deepEqual(defaultModel, { defaultModel: { name: 'resilient/offline/deterministic' } });

    // The same process still serves REST (PORT=0 picked a free port).
    const health = await fetchText(`http://127.0.0.1:${restPort}/health`);
    assert.equal(health.status, 200);
    const { status, model, offline, flows } = JSON.parse(health.text) as Record<string, unknown>;
    assert.deepEqual({ status, model, offline, flows }, { status: 'ok', model: 'offline/deterministic', offline: true, flows: 8 });
  });

  it('GET /api/actions lists exactly our 8 flows, the tool, the prompt and the offline model', async () => {
    const res = await fetchText(`${reflection}/api/actions`);
    assert.equal(res.status, 200);
    const actions = JSON.parse(res.text) as Record<string, ActionDesc>;
    assert.deepEqual(Object.keys(actions).sort(), EXPECTED_ACTIONS);
    assert.deepEqual(
      Object.keys(actions)
        .filter((key) => key.startsWith('/flow/'))
        .sort(),
      ['/flow/describeImage', '/flow/generateCharacter', '/flow/generateCode', '/flow/pirateChat', '/flow/reviewCode', '/flow/tellJoke', '/flow/tellStory', '/flow/translateText'],
    );
    for (const [key, action] of Object.entries(actions)) {
      assert.equal(action.key, key);
      assert.equal(`/${key.split('/')[1]}/${action.name}`, key);
    }
    // What the Dev UI shows as the form of tellJoke (the default comes from the Zod schema).
    assert.deepEqual(Object.keys(actions['/flow/tellJoke']!.inputSchema?.properties ?? {}), ['name', 'username']);
    assert.equal(actions['/flow/tellJoke']!.inputSchema?.properties?.name?.default, 'Mittens');
    // The Dotprompt file declares its schema by name (CodeReviewInput); Genkit resolves it.
    assert.deepEqual(Object.keys(actions['/prompt/code_review']!.inputSchema?.properties ?? {}), ['code', 'language']);
  });

  it('POST /api/runAction runs tellJoke: `{}` applies the default name "Mittens", and returns a trace ID', async () => {
    const empty = await runAction(reflection, '/flow/tellJoke', {});
    const result = empty.body.result as { joke: string };
    assert.deepEqual(Object.keys(result), ['joke']);
    assert.match(result.joke, /\bMittens\b/);
    jokeTraceId = empty.body.telemetry?.traceId ?? '';
    jokeResult = result;
    assert.match(jokeTraceId, /^[0-9a-f]{32}$/);
    assert.equal(empty.traceHeader, jokeTraceId);

    // `{}` is exactly the explicit default (the offline model is deterministic), and the name does matter.
    const explicit = await runAction(reflection, '/flow/tellJoke', { name: 'Mittens' });
    assert.deepEqual(explicit.body.result, result);
    assert.notEqual(explicit.body.telemetry?.traceId, jokeTraceId);
    const other = (await runAction(reflection, '/flow/tellJoke', { name: 'Rex', username: 'ada' })).body.result as { joke: string; username?: string };
    assert.match(other.joke, /\bRex\b/);
    assert.doesNotMatch(other.joke, /Mittens/);
    assert.equal(other.username, 'ada');
  });

  it('the telemetry server received that trace: flow, generate, resilient wrapper and offline model spans', async () => {
    assert.ok(jokeTraceId, 'the runAction test ran first');
    // runAction flushes the exporter before answering; still, allow the store a moment. In dev mode
    // Genkit's realtime span processor also sends each span when it starts (no end time, no
    // genkit:name yet), so the trace can briefly hold four started spans: wait until all four ended.
    const trace = await until('the trace in the telemetry server', Date.now() + 10_000, async () => {
      const res = await fetchText(`${telemetry}/api/traces/${jokeTraceId}`);
      const found = res.status === 200 && res.text ? (JSON.parse(res.text) as Trace) : undefined;
      const spans = found ? Object.values(found.spans) : [];
      return spans.length === 4 && spans.every((s) => s.endTime > 0) ? found : undefined;
    });
    assert.equal(trace.traceId, jokeTraceId);
    assert.equal(trace.displayName, 'tellJoke');
    const spans = Object.values(trace.spans);
    assert.deepEqual(spans.map((s) => s.attributes['genkit:name']).sort(), ['generate', 'offline/deterministic', 'resilient/offline/deterministic', 'tellJoke']);
    assert.ok(spans.every((s) => s.attributes['genkit:state'] === 'success'));

    const root = spans.find((s) => s.parentSpanId === undefined)!;
    assert.equal(root.attributes['genkit:name'], 'tellJoke');
    assert.equal(root.attributes['genkit:metadata:subtype'], 'flow');
    assert.equal(root.attributes['genkit:input'], '{}');
    assert.deepEqual(JSON.parse(String(root.attributes['genkit:output'])), jokeResult);

    // The model was asked about Mittens: the default was applied inside the flow.
    const model = spans.find((s) => s.attributes['genkit:name'] === 'offline/deterministic')!;
    assert.match(String(model.attributes['genkit:input']), /Tell a short, family-friendly joke about Mittens\./);

    // The list endpoint (what the Dev UI's trace list uses) finds it too.
    const filter = encodeURIComponent(JSON.stringify({ eq: { id: jokeTraceId } }));
    const listed = JSON.parse((await fetchText(`${telemetry}/api/traces?limit=5&filter=${filter}`)).text) as { traces: Trace[] };
    assert.deepEqual(
      listed.traces.map((t) => [t.traceId, t.displayName]),
      [[jokeTraceId, 'tellJoke']],
    );
  });

  it('SIGTERM to the process group stops the app gracefully and every process of the group exits', async () => {
    process.kill(-cli.pid!, 'SIGTERM');
    assert.ok(await waitGroupGone(cli.pid!, STOP_TIMEOUT_MS), `the process group ${cli.pid} was still alive ${STOP_TIMEOUT_MS} ms after SIGTERM`);
    const exit = await cliExit;
    assert.deepEqual(exit, { code: 0, signal: null });
    assert.match(output, /"signal":"SIGTERM".*"msg":"Shutting down: finishing in-flight calls"/);
    assert.match(output, /"msg":"Stopped"/);
  });

  it('the app removes its .genkit/runtimes file when it stops', async () => {
    await assert.rejects(readFile(runtimeFile, 'utf8'), { code: 'ENOENT' });
  });
});
