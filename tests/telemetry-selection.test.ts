import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { PACKAGE_NAME, parseCli } from '../server/config.js';
import { describeUrl, selectTelemetry, type TelemetrySelection } from '../telemetry/select-exporter.js';

/** The exporter selection table, row by row, over environment permutations (no network). */

const select = (env: Record<string, string | undefined>, disabledByFlag = false): TelemetrySelection =>
  selectTelemetry(env, { disabledByFlag, defaultServiceName: PACKAGE_NAME });

const OTLP = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' };
const AZURE_CONNECTION = 'InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=https://westeurope-5.in.applicationinsights.azure.com/';

describe('row 1: telemetry disabled', () => {
  for (const [name, env, flag] of [
    ['--no-telemetry', {}, true],
    ['GENKIT_TELEMETRY_DISABLED=1', { GENKIT_TELEMETRY_DISABLED: '1' }, false],
    ['GENKIT_TELEMETRY_DISABLED=true', { GENKIT_TELEMETRY_DISABLED: 'true' }, false],
    ['OTEL_SDK_DISABLED=true (the standard switch)', { OTEL_SDK_DISABLED: 'true' }, false],
  ] as const) {
    it(`${name} → none`, () => {
      const selection = select(env, flag);
      assert.deepEqual(selection.export, { kind: 'none' });
      assert.match(selection.reason, /no-telemetry|DISABLED/);
    });
  }

  it('wins over every platform signal and an OTLP endpoint', () => {
    const env = { GENKIT_TELEMETRY_DISABLED: '1', K_SERVICE: 'svc', AWS_EXECUTION_ENV: 'AWS_ECS_FARGATE', CONTAINER_APP_NAME: 'app', APPLICATIONINSIGHTS_CONNECTION_STRING: AZURE_CONNECTION, ...OTLP };
    assert.equal(select(env).export.kind, 'none');
    assert.equal(select({ K_SERVICE: 'svc', ...OTLP }, true).export.kind, 'none');
  });

  it('GENKIT_TELEMETRY_DISABLED=0 or false does not disable', () => {
    assert.equal(select({ GENKIT_TELEMETRY_DISABLED: '0', ...OTLP }).export.kind, 'otlp');
    assert.equal(select({ GENKIT_TELEMETRY_DISABLED: 'false', ...OTLP }).export.kind, 'otlp');
  });
});

describe('row 2: Google Cloud', () => {
  for (const signal of [{ K_SERVICE: 'my-service' }, { GCE_METADATA_HOST: '169.254.169.254' }, { GENKIT_TELEMETRY_GCP: '1' }, { GENKIT_TELEMETRY_GCP: 'true' }]) {
    it(`${Object.keys(signal)[0]} → @genkit-ai/google-cloud`, () => {
      const selection = select(signal);
      assert.deepEqual(selection.export, { kind: 'google-cloud' });
      assert.match(selection.reason, new RegExp(Object.keys(signal)[0]!));
    });
  }

  it('wins over AWS, Azure and OTLP signals', () => {
    const env = { K_SERVICE: 'svc', AWS_EXECUTION_ENV: 'AWS_ECS_EC2', CONTAINER_APP_NAME: 'app', APPLICATIONINSIGHTS_CONNECTION_STRING: AZURE_CONNECTION, ...OTLP };
    assert.equal(select(env).export.kind, 'google-cloud');
  });

  it('GOOGLE_CLOUD_PROJECT alone does not switch it on (developer machines set it)', () => {
    assert.equal(select({ GOOGLE_CLOUD_PROJECT: 'my-project' }).export.kind, 'none');
    assert.equal(select({ GOOGLE_CLOUD_PROJECT: 'my-project', GCLOUD_PROJECT: 'my-project' }).export.kind, 'none');
    assert.equal(select({ GOOGLE_CLOUD_PROJECT: 'my-project', ...OTLP }).export.kind, 'otlp');
  });

  it('GENKIT_TELEMETRY_GCP=0 or an empty K_SERVICE is not a signal', () => {
    assert.equal(select({ GENKIT_TELEMETRY_GCP: '0' }).export.kind, 'none');
    assert.equal(select({ K_SERVICE: '' }).export.kind, 'none');
  });
});

describe('row 3: AWS → OTLP to the ADOT collector with X-Ray ids', () => {
  for (const signal of [{ AWS_EXECUTION_ENV: 'AWS_ECS_FARGATE' }, { ECS_CONTAINER_METADATA_URI_V4: 'http://169.254.170.2/v4/abc' }, { ECS_CONTAINER_METADATA_URI: 'http://169.254.170.2/v3/abc' }]) {
    it(`${Object.keys(signal)[0]} → http://localhost:4318/v1/traces, http/protobuf, X-Ray`, () => {
      const selection = select(signal);
      assert.deepEqual(selection.export, { kind: 'otlp', protocol: 'http/protobuf', url: 'http://localhost:4318/v1/traces', xray: true });
      assert.match(selection.reason, /AWS/);
    });
  }

  it('an ADOT collector elsewhere comes from the standard OTLP variables', () => {
    assert.deepEqual(select({ AWS_EXECUTION_ENV: 'AWS_ECS_EC2', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://adot.internal:4318/' }).export, {
      kind: 'otlp',
      protocol: 'http/protobuf',
      url: 'http://adot.internal:4318/v1/traces',
      xray: true,
    });
    assert.deepEqual(select({ AWS_EXECUTION_ENV: 'AWS_ECS_EC2', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }).export, {
      kind: 'otlp',
      protocol: 'grpc',
      url: 'http://localhost:4317',
      xray: true,
    });
  });

  it('wins over Azure and a plain OTLP endpoint', () => {
    const env = { ECS_CONTAINER_METADATA_URI_V4: 'http://169.254.170.2/v4/abc', CONTAINER_APP_NAME: 'app', APPLICATIONINSIGHTS_CONNECTION_STRING: AZURE_CONNECTION };
    assert.equal(select(env).export.kind, 'otlp');
    assert.equal((select({ ...env, ...OTLP }).export as { xray: boolean }).xray, true);
  });
});

describe('row 4: Azure Monitor', () => {
  for (const signal of [{ CONTAINER_APP_NAME: 'my-app' }, { WEBSITE_SITE_NAME: 'my-site' }]) {
    it(`${Object.keys(signal)[0]} with APPLICATIONINSIGHTS_CONNECTION_STRING → Azure Monitor`, () => {
      const selection = select({ ...signal, APPLICATIONINSIGHTS_CONNECTION_STRING: AZURE_CONNECTION });
      assert.deepEqual(selection.export, { kind: 'azure-monitor', connectionString: AZURE_CONNECTION });
      assert.ok(!selection.reason.includes('InstrumentationKey'), 'the reason never carries the connection string');
    });
  }

  it('on Azure without a connection string: a warning, then the next rows', () => {
    const withoutOtlp = select({ CONTAINER_APP_NAME: 'my-app' });
    assert.equal(withoutOtlp.export.kind, 'none');
    assert.match(withoutOtlp.warnings.join('\n'), /APPLICATIONINSIGHTS_CONNECTION_STRING is not/);
    const withOtlp = select({ WEBSITE_SITE_NAME: 'my-site', ...OTLP });
    assert.equal(withOtlp.export.kind, 'otlp');
    assert.equal(withOtlp.warnings.length, 1);
  });

  it('a connection string off Azure is not a signal', () => {
    assert.equal(select({ APPLICATIONINSIGHTS_CONNECTION_STRING: AZURE_CONNECTION }).export.kind, 'none');
  });
});

describe('row 5: OTLP from the standard OTEL_* variables', () => {
  it('OTEL_EXPORTER_OTLP_ENDPOINT → http/protobuf to <endpoint>/v1/traces', () => {
    const selection = select(OTLP);
    assert.deepEqual(selection.export, { kind: 'otlp', protocol: 'http/protobuf', url: 'http://collector:4318/v1/traces', xray: false });
    assert.deepEqual(selection.warnings, []);
  });

  it('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is used as is, and wins over the base endpoint', () => {
    assert.equal((select({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://otlp.example.com/custom/path' }).export as { url: string }).url, 'https://otlp.example.com/custom/path');
    assert.equal((select({ ...OTLP, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://other:4318/x' }).export as { url: string }).url, 'http://other:4318/x');
  });

  for (const [protocol, url] of [
    ['http/protobuf', 'http://collector:4318/v1/traces'],
    ['http/json', 'http://collector:4318/v1/traces'],
    ['grpc', 'http://collector:4318'],
  ] as const) {
    it(`OTEL_EXPORTER_OTLP_PROTOCOL=${protocol}`, () => {
      assert.deepEqual(select({ ...OTLP, OTEL_EXPORTER_OTLP_PROTOCOL: protocol }).export, { kind: 'otlp', protocol, url, xray: false });
    });
  }

  it('OTEL_EXPORTER_OTLP_TRACES_PROTOCOL wins over OTEL_EXPORTER_OTLP_PROTOCOL', () => {
    const selection = select({ ...OTLP, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'grpc' });
    assert.equal((selection.export as { protocol: string }).protocol, 'grpc');
  });

  it('an unknown protocol: one warning, http/protobuf', () => {
    const selection = select({ ...OTLP, OTEL_EXPORTER_OTLP_PROTOCOL: 'thrift' });
    assert.equal((selection.export as { protocol: string }).protocol, 'http/protobuf');
    assert.equal(selection.warnings.length, 1);
    assert.match(selection.warnings[0]!, /OTEL_EXPORTER_OTLP_PROTOCOL=thrift/);
  });

  it('an endpoint that is not an http(s) URL: one warning, no export', () => {
    for (const endpoint of ['collector:4318', 'ftp://collector', 'not a url']) {
      const selection = select({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint });
      assert.equal(selection.export.kind, 'none', endpoint);
      assert.equal(selection.warnings.length, 1, endpoint);
    }
  });
});

describe('row 6: nothing configured', () => {
  it('→ none, no warnings', () => {
    const selection = select({});
    assert.deepEqual(selection.export, { kind: 'none' });
    assert.deepEqual(selection.warnings, []);
    assert.match(selection.reason, /no exporter is configured/);
  });
});

describe('service name and logging safety', () => {
  it('defaults to the package name, OTEL_SERVICE_NAME overrides', async () => {
    const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { name: string };
    assert.equal(select({}).serviceName, pkg.name);
    assert.equal(select({ OTEL_SERVICE_NAME: 'checkout-ai' }).serviceName, 'checkout-ai');
  });

  it('endpoints are logged without credentials or query strings', () => {
    assert.equal(describeUrl('https://user:secret@otlp.example.com:4318/v1/traces?api-key=abc'), 'https://otlp.example.com:4318/v1/traces');
    assert.equal(describeUrl('http://localhost:4317'), 'http://localhost:4317');
  });
});

describe('parseCli', () => {
  it('puts the selection in the config; --no-telemetry wins over the environment', () => {
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' };
    const on = parseCli([], env);
    const off = parseCli(['--no-telemetry'], env);
    assert.ok(on.kind === 'config' && off.kind === 'config');
    assert.equal(on.config.telemetry.export.kind, 'otlp');
    assert.equal(off.config.telemetry.export.kind, 'none');
    assert.match(off.config.telemetry.reason, /--no-telemetry/);
  });
});
