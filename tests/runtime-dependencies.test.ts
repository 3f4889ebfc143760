import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { REPO_ROOT } from '../grpc/generated-paths.js';

/**
 * Every package the server can load at run time, on any configuration (the
 * lazily imported exporters and plugins included), is a production
 * dependency: `npm ci --omit=dev` must be enough. The run-time sources are
 * exactly what tsconfig.build.json compiles into dist/.
 */

const BUILD = JSON.parse(await readFile(join(REPO_ROOT, 'tsconfig.build.json'), 'utf8')) as { include: string[] };
const PKG = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

async function runtimeSources(): Promise<string[]> {
  const files: string[] = [];
  const visit = async (path: string): Promise<void> => {
    if (path.endsWith('.ts')) return void files.push(path);
    const entries = await readdir(path, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) await visit(join(path, entry.name));
  };
  for (const include of BUILD.include) await visit(join(REPO_ROOT, include));
  return files;
}

/** Bare specifiers: static and dynamic imports, require()/resolve() strings, pino transport targets. */
const SPECIFIER = /(?:\bfrom\s+|\bimport\s*\(\s*|\brequire(?:\.resolve)?\s*\(\s*|\)\s*\(\s*|\bresolve\s*\(\s*|\btarget:\s*)['"]([^'"./][^'"]*)['"]/g;

function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

describe('run-time dependencies', () => {
  it('every package the run-time code loads is in "dependencies", none only in "devDependencies"', async () => {
    const used = new Map<string, string>();
    for (const file of await runtimeSources()) {
      for (const match of (await readFile(file, 'utf8')).matchAll(SPECIFIER)) {
        const specifier = match[1]!;
        if (specifier.startsWith('node:') || builtinModules.includes(specifier)) continue;
        used.set(packageOf(specifier), relative(REPO_ROOT, file));
      }
    }
    // Sanity: the scan sees the static, dynamic, createRequire and transport forms.
    for (const known of ['genkit', '@genkit-ai/express', '@genkit-ai/google-genai', 'google-auth-library', '@azure/monitor-opentelemetry-exporter', 'swagger-ui-dist', 'pino-pretty']) {
      assert.ok(used.has(known), `the scan finds ${known}`);
    }
    const missing = [...used].filter(([pkg]) => !(pkg in PKG.dependencies)).map(([pkg, file]) => `${pkg} (used in ${file})`);
    assert.deepEqual(missing, [], 'used at run time but not a production dependency');
  });

  it('pins every version exactly', () => {
    const loose = Object.entries({ ...PKG.dependencies, ...PKG.devDependencies }).filter(([, v]) => !/^\d+\.\d+\.\d+(-[\w.]+)?$/.test(v));
    assert.deepEqual(loose, []);
  });
});
