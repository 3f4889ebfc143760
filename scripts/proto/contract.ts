import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { buf } from './codegen.js';
import { contractDiff } from './contract-diff.js';

/**
 * The accepted contract: a buf image of generated/proto (no comments)
 * committed as contract/accepted.binpb. `npm test` compares the
 * current proto with it (`buf breaking`, FILE rules), so a breaking change
 * fails however many commits ago it was made. Only `npm run contract:accept`
 * moves the baseline, and it writes an entry to CONTRACT-CHANGELOG.md with the
 * reason, the breaking changes buf reported, every element that changed and
 * the new baseline's SHA-256 — which the check verifies, so a baseline
 * replaced by hand is caught too.
 */

export const BASELINE = 'contract/accepted.binpb';
export const CHANGELOG = 'CONTRACT-CHANGELOG.md';
const MODULE = 'generated/proto';
const BASELINE_HASH = /^Baseline: `contract\/accepted\.binpb` sha256 ([0-9a-f]{64})$/m;

export const ACCEPT_COMMAND = 'npm run contract:accept -- --reason "<why the contract changes>"';

export interface ContractCheck {
  ok: boolean;
  report: string;
}

/** The `npm test` step: the current proto against the accepted contract. */
export async function checkContract(root: string): Promise<ContractCheck> {
  const baseline = await readFile(join(root, BASELINE)).catch(() => undefined);
  if (!baseline) return { ok: false, report: `No accepted contract (${BASELINE}). Accept the current one with:\n  ${ACCEPT_COMMAND}` };
  const recorded = BASELINE_HASH.exec(await readFile(join(root, CHANGELOG), 'utf8').catch(() => ''))?.[1];
  const actual = sha256(baseline);
  if (recorded !== actual) {
    return {
      ok: false,
      report:
        `${BASELINE} (sha256 ${actual}) is not the baseline the newest ${CHANGELOG} entry records ` +
        `(${recorded ?? 'none'}): it was changed without \`npm run contract:accept\`. Restore it, or accept with:\n  ${ACCEPT_COMMAND}`,
    };
  }
  const breaking = await breakingChanges(root);
  const current = await buildImage(root);
  const pending = contractDiff(baseline, current);
  if (breaking.length > 0) {
    return {
      ok: false,
      report: [
        `The proto breaks the accepted contract (${BASELINE}, buf breaking FILE rules):`,
        ...breaking.map((b) => `  ${b}`),
        'Old clients would fail or silently misbehave. Keep the old field/RPC (add new ones beside it), or, if',
        'the break is deliberate (pre-release, or a new major version), accept it and say why:',
        `  ${ACCEPT_COMMAND}`,
      ].join('\n'),
    };
  }
  const summary = pending.length === 0 ? 'identical to it' : `${pending.length} compatible change(s) not yet accepted (fine until a release)`;
  return { ok: true, report: `Contract: no breaking change against the accepted contract; ${summary}.` };
}

export interface AcceptResult {
  accepted: boolean;
  report: string;
}

/** `npm run contract:accept`: makes the current generated/proto the accepted contract and logs why. */
export async function acceptContract(root: string, options: { reason: string; now?: Date; author?: string }): Promise<AcceptResult> {
  const reason = options.reason.trim();
  if (!reason) throw new Error(`A reason is required: ${ACCEPT_COMMAND}`);
  const before = await readFile(join(root, BASELINE)).catch(() => undefined);
  const after = await buildImage(root);
  const changes = contractDiff(before, after);
  if (before && changes.length === 0 && Buffer.compare(before, after) === 0) {
    return { accepted: false, report: `Nothing to accept: generated/proto is the accepted contract already.` };
  }
  const breaking = before ? await breakingChanges(root) : [];
  await mkdir(dirname(join(root, BASELINE)), { recursive: true });
  await writeFile(join(root, BASELINE), after);

  const date = (options.now ?? new Date()).toISOString().slice(0, 10);
  const entry = [
    `## ${date}: ${reason.split('\n')[0]}`,
    '',
    ...(reason.includes('\n') ? [reason.slice(reason.indexOf('\n') + 1).trim(), ''] : []),
    ...(options.author ? [`Accepted by: ${options.author}`, ''] : []),
    `Baseline: \`${BASELINE}\` sha256 ${sha256(after)}`,
    '',
    before ? `Breaking changes (buf breaking, FILE rules):${breaking.length === 0 ? ' none.' : ''}` : 'First accepted contract.',
    ...breaking.map((b) => `- ${b}`),
    '',
    'Changes (`+` added, `-` removed, `~` changed):',
    '',
    '```diff',
    ...changes,
    '```',
    '',
  ].join('\n');
  const existing = await readFile(join(root, CHANGELOG), 'utf8').catch(() => CHANGELOG_HEADER);
  const at = existing.search(/^## /m);
  const next = at < 0 ? `${existing.trimEnd()}\n\n${entry}` : `${existing.slice(0, at)}${entry}\n${existing.slice(at)}`;
  await writeFile(join(root, CHANGELOG), next);
  return {
    accepted: true,
    report: `Accepted: ${BASELINE} and a new ${CHANGELOG} entry (${breaking.length} breaking, ${changes.length} changed element(s)). Commit them with generated/.`,
  };
}

const CHANGELOG_HEADER = `# Contract changelog

Every change of the accepted gRPC contract (\`${BASELINE}\`), newest first. Entries are written by
\`npm run contract:accept -- --reason "…"\` (see README, "The accepted contract"); do not edit the
baseline line by hand: \`npm test\` checks it against the committed baseline.
`;

/** buf's breaking-change messages for generated/proto against the baseline, without file positions. */
async function breakingChanges(root: string): Promise<string[]> {
  try {
    await buf(root, ['breaking', MODULE, '--against', BASELINE, '--exclude-imports', '--error-format', 'json']);
    return [];
  } catch (e: unknown) {
    const text = e instanceof Error ? e.message : String(e);
    const found = text
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { type: string; message: string })
      .map((v) => `${v.message} (${v.type})`);
    if (found.length === 0) throw e;
    return found;
  }
}

/**
 * generated/proto as a buf image without source info (the contract, not its
 * comments). Imports stay in: buf needs them to read the image back.
 */
async function buildImage(root: string): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), 'contract-'));
  try {
    const out = join(dir, 'image.binpb');
    await buf(root, ['build', MODULE, '--exclude-source-info', '--output', out]);
    return await readFile(out);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** `git config user.name`, when there is one, for the changelog. */
export async function gitAuthor(root: string): Promise<string | undefined> {
  try {
    const { stdout } = await promisify(execFile)('git', ['config', 'user.name'], { cwd: root });
    return stdout.trim() || undefined;
  } catch {
    return undefined;
  }
}
