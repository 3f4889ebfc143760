import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT } from '../grpc/generated-paths.js';
import { SETTINGS } from '../server/config.js';

/**
 * scripts/deploy/: every script's --dry-run prints the commands it would run
 * and exits 0; the manifests parse; ports, probe paths and grace periods agree
 * with the server's defaults (server/config.ts) and its shutdown sequence.
 */

const run = promisify(execFile);
const DEPLOY = join(REPO_ROOT, 'scripts/deploy');
const defaultOf = (env: string) => Number(SETTINGS.find((s) => s.env === env)!.default);
const REST = defaultOf('PORT');
const GRPC = defaultOf('GRPC_PORT');
const GRACE_MS = defaultOf('SHUTDOWN_GRACE_MS');
/** After the grace period, main.ts waits this long for buffered spans. */
const FLUSH_MS = Number(/const TRACE_FLUSH_MS = (\d+);/.exec(await readFile(join(REPO_ROOT, 'main.ts'), 'utf8'))![1]);

const ENV = {
  IMAGE: 'registry.example.com/genkit-flow-gateway:1',
  PROJECT: 'my-project',
  REGION: 'europe-west1',
  ACCESS_ROLE_ARN: 'arn:aws:iam::123456789012:role/access',
  EXECUTION_ROLE_ARN: 'arn:aws:iam::123456789012:role/exec',
  RESOURCE_GROUP: 'rg',
  ENVIRONMENT: 'env',
};

async function dryRun(script: string, env: Record<string, string> = ENV): Promise<string[]> {
  const { stdout } = await run('bash', [join(DEPLOY, script), '--dry-run'], { env: { PATH: process.env.PATH, ...env } });
  const commands = stdout.split('\n').filter((line) => line.startsWith('+ '));
  assert.ok(commands.length >= 2, `${script} prints its commands:\n${stdout}`);
  return commands;
}

/** The command line that starts with `prefix` and names `name`. */
function commandFor(commands: string[], prefix: string, name: string): string {
  const line = commands.find((c) => c.startsWith(`+ ${prefix}`) && c.includes(name));
  assert.ok(line, `a "${prefix} … ${name}" command in:\n${commands.join('\n')}`);
  return line;
}

describe('deploy scripts (--dry-run)', () => {
  it('share the server defaults (lib.sh)', async () => {
    const lib = await readFile(join(DEPLOY, 'lib.sh'), 'utf8');
    assert.match(lib, new RegExp(`^REST_PORT=${REST}$`, 'm'));
    assert.match(lib, new RegExp(`^GRPC_PORT=${GRPC}$`, 'm'));
    assert.match(lib, /^HEALTH_PATH=\/health$/m);
  });

  it('refuse to run for real without the settings they need, naming them', async () => {
    await assert.rejects(run('bash', [join(DEPLOY, 'cloud-run.sh')], { env: { PATH: process.env.PATH } }), (e: { code?: number; stderr?: string }) => {
      assert.equal(e.code, 2);
      assert.match(String(e.stderr), /^Set IMAGE: /);
      return true;
    });
  });

  it('Cloud Run: a REST service on PORT and a gRPC service on GRPC_PORT over HTTP/2, shutdown inside Cloud Run\'s 10 s', async () => {
    const commands = await dryRun('cloud-run.sh');
    commandFor(commands, 'podman build', ENV.IMAGE);
    const rest = commandFor(commands, 'gcloud run deploy', 'genkit-flow-gateway-rest');
    const grpc = commandFor(commands, 'gcloud run deploy', 'genkit-flow-gateway-grpc');
    assert.match(rest, new RegExp(` --port ${REST} `));
    assert.match(rest, /GRPC_ENABLED=false/);
    assert.match(grpc, new RegExp(` --port ${GRPC} --use-http2 `));
    // Cloud Run sets PORT to the service port; the flag moves REST off it.
    assert.match(grpc, /--args=--port=(\d+)/);
    assert.notEqual(Number(/--args=--port=(\d+)/.exec(grpc)![1]), GRPC);
    for (const line of [rest, grpc]) {
      const grace = Number(/SHUTDOWN_GRACE_MS=(\d+)/.exec(line)![1]);
      assert.ok(grace + FLUSH_MS <= 10_000, `grace ${grace} + flush ${FLUSH_MS} ms within Cloud Run's 10 s`);
    }
  });

  it('Kubernetes: the manifest parses; ports, /health readiness, gRPC liveness and the grace period agree', async () => {
    const commands = await dryRun('kubernetes.sh');
    commandFor(commands, 'kubectl', 'apply -f');
    commandFor(commands, 'kubectl', `server=${ENV.IMAGE}`);
    const documents = parseAllDocuments(await readFile(join(DEPLOY, 'kubernetes.yaml'), 'utf8')).map((d) => {
      assert.deepEqual(d.errors, []);
      return d.toJS() as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    });
    const deployment = documents.find((d) => d.kind === 'Deployment')!;
    const service = documents.find((d) => d.kind === 'Service')!;
    const pod = deployment.spec.template.spec;
    const container = pod.containers.find((c: { name: string }) => c.name === 'server');
    const ports = Object.fromEntries(container.ports.map((p: { name: string; containerPort: number }) => [p.name, p.containerPort]));
    assert.deepEqual(ports, { http: REST, grpc: GRPC });
    assert.deepEqual(container.readinessProbe.httpGet, { path: '/health', port: 'http' });
    assert.deepEqual(container.startupProbe.httpGet, { path: '/health', port: 'http' });
    assert.equal(container.livenessProbe.grpc.port, GRPC);
    const grace = Number(container.env.find((e: { name: string }) => e.name === 'SHUTDOWN_GRACE_MS')?.value ?? GRACE_MS);
    const preStopMs = Number(container.lifecycle.preStop.exec.command[1]) * 1000;
    assert.ok(pod.terminationGracePeriodSeconds * 1000 > preStopMs + grace + FLUSH_MS, 'SIGKILL comes after preStop + grace + flush');
    assert.ok(pod.securityContext.runAsNonRoot);
    assert.match(container.resources.requests.memory, /^\d+Mi$/);
    assert.deepEqual(
      service.spec.ports.map((p: { port: number; appProtocol: string }) => [p.port, p.appProtocol]),
      [
        [REST, 'http'],
        [GRPC, 'kubernetes.io/h2c'],
      ],
    );
  });

  it('AWS: App Runner on PORT with /health; the ECS task definition parses and agrees', async () => {
    const commands = await dryRun('aws.sh');
    const appRunner = commandFor(commands, 'aws apprunner create-service', 'genkit-flow-gateway-rest');
    assert.match(appRunner, new RegExp(`"Port":"${REST}"`));
    assert.match(appRunner, /Path=\/health/);
    commandFor(commands, 'aws ecs register-task-definition', 'file://');
    const task = JSON.parse(await readFile(join(DEPLOY, 'ecs-task-definition.json'), 'utf8')) as {
      containerDefinitions: { portMappings: { containerPort: number; appProtocol: string }[]; healthCheck: { command: string[] }; stopTimeout: number; user: string }[];
    };
    const [server] = task.containerDefinitions;
    assert.deepEqual(server!.portMappings.map((p) => [p.containerPort, p.appProtocol]), [
      [REST, 'http'],
      [GRPC, 'grpc'],
    ]);
    assert.match(server!.healthCheck.command.join(' '), new RegExp(`127\\.0\\.0\\.1:${REST}/health`));
    assert.ok(server!.stopTimeout * 1000 > GRACE_MS + FLUSH_MS);
    assert.notEqual(server!.user, '0');
  });

  it('Azure Container Apps: a REST app on PORT, a gRPC app on GRPC_PORT with HTTP/2 transport', async () => {
    const commands = await dryRun('azure.sh');
    assert.match(commandFor(commands, 'az containerapp create', 'genkit-flow-gateway-rest'), new RegExp(`--target-port ${REST} --transport http `));
    assert.match(commandFor(commands, 'az containerapp create', 'genkit-flow-gateway-grpc'), new RegExp(`--target-port ${GRPC} --transport http2 `));
  });
});
