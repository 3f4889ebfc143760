import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { z } from 'genkit';
import { generatedPaths, REPO_ROOT } from '../grpc/generated-paths.js';
import { parseLock, serializeLock } from '../grpc/proto-lock.js';
import type { FlowSchemas } from '../grpc/service-model.js';
import { acceptContract, BASELINE, CHANGELOG, checkContract } from '../scripts/proto/contract.js';
import { generateProto } from '../scripts/proto/generate-proto.js';

/**
 * The accepted-contract guard on a throw-away project (its own git repo,
 * buf.yaml and vendored protos): breaking changes fail the check until they
 * are accepted, whatever happened in between, and accepting records why.
 */

const run = promisify(execFile);
const git = (root: string, ...args: string[]) => run('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=Test', ...args], { cwd: root });

const chat = (shape: z.ZodRawShape): FlowSchemas => ({
  name: 'pirateChat',
  description: 'Answers a question.',
  inputSchema: z.object(shape),
  outputSchema: z.object({ answer: z.string().describe('The answer.') }),
});
const question = z.string().max(5000).default('What is the best programming language?').describe('The question.');
const V1 = chat({ question, mood: z.string().optional().describe('Tone.') });

/** What `npm run gen` writes to generated/proto (the TS stubs do not matter here). */
async function gen(root: string, flow: FlowSchemas): Promise<void> {
  const paths = generatedPaths(root);
  const previous = parseLock(await readFile(paths.lockFile, 'utf8').catch(() => undefined));
  const { proto, lock } = generateProto([flow], previous);
  await mkdir(dirname(paths.protoFile), { recursive: true });
  await writeFile(paths.protoFile, proto);
  await writeFile(paths.lockFile, serializeLock(lock));
}

async function commitAll(root: string, message: string): Promise<void> {
  await git(root, 'add', '-A');
  await git(root, 'commit', '-qm', message);
}

describe('the accepted contract guards against unaccepted breaking changes', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'contract-'));
    await cp(join(REPO_ROOT, 'buf.yaml'), join(root, 'buf.yaml'));
    await cp(join(REPO_ROOT, 'proto/vendor'), join(root, 'proto/vendor'), { recursive: true });
    await symlink(join(REPO_ROOT, 'node_modules'), join(root, 'node_modules'));
    await git(root, 'init', '-q');
    await gen(root, V1);
    assert.equal((await acceptContract(root, { reason: 'First release', now: new Date('2030-01-02T00:00:00Z') })).accepted, true);
    await commitAll(root, 'v1 accepted');
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('passes on the accepted contract itself, and on compatible additions', async () => {
    assert.deepEqual(await checkContract(root), { ok: true, report: 'Contract: no breaking change against the accepted contract; identical to it.' });
    await gen(root, chat({ question, mood: z.string().optional().describe('Tone.'), extra: z.string().optional().describe('New.') }));
    const check = await checkContract(root);
    assert.equal(check.ok, true, check.report);
    assert.match(check.report, /1 compatible change\(s\) not yet accepted/);
    await git(root, 'checkout', '-q', '--', '.');
  });

  it('fails on a type change (string → double) even after another commit, until it is accepted', async () => {
    await gen(root, chat({ question: z.number().describe('The question.'), mood: z.string().optional().describe('Tone.') }));
    await commitAll(root, 'question becomes a number');
    await writeFile(join(root, 'NOTES.md'), 'an unrelated change\n');
    await commitAll(root, 'unrelated');

    const check = await checkContract(root);
    assert.equal(check.ok, false);
    assert.match(check.report, /field "1" with name "question" on message "PirateChatRequest" was deleted/);
    assert.match(check.report, /npm run contract:accept -- --reason/);
    // The lock gave the double its own number: an old client's string in field 1 is never read as a double.
    assert.match(await readFile(generatedPaths(root).protoFile, 'utf8'), /reserved 1;\n(?:.*\n)*? {2}double question = 3 /);

    const accepted = await acceptContract(root, { reason: 'The question is a number now\nPre-release: no client depends on it.', now: new Date('2030-02-03T00:00:00Z') });
    assert.equal(accepted.accepted, true);
    const changelog = await readFile(join(root, CHANGELOG), 'utf8');
    const entry = changelog.slice(changelog.indexOf('## 2030-02-03'), changelog.indexOf('## 2030-01-02'));
    assert.match(entry, /^## 2030-02-03: The question is a number now\n\nPre-release: no client depends on it\.\n/);
    assert.match(entry, /Breaking changes \(buf breaking, FILE rules\):\n- Previously present field "1" with name "question"/);
    assert.match(entry, /^~ field PirateChatRequest\.question: = 1 \(optional string\) → = 3 \(double\) REQUIRED$/m);
    assert.ok(changelog.indexOf('## 2030-02-03') < changelog.indexOf('## 2030-01-02'), 'newest entry first');
    assert.equal((await checkContract(root)).ok, true);
    await commitAll(root, 'accepted');
  });

  it('treats a renamed request field (question → prompt) and a removed one as breaking', async () => {
    await gen(root, chat({ prompt: z.number().describe('The question.'), mood: z.string().optional().describe('Tone.') }));
    const renamed = await checkContract(root);
    assert.equal(renamed.ok, false);
    assert.match(renamed.report, /field "3" with name "question" on message "PirateChatRequest" was deleted/);
    await git(root, 'checkout', '-q', '--', '.');

    await gen(root, chat({ question: z.number().describe('The question.') }));
    const removed = await checkContract(root);
    assert.equal(removed.ok, false);
    assert.match(removed.report, /field "2" with name "mood" on message "PirateChatRequest" was deleted/);
    await git(root, 'checkout', '-q', '--', '.');
  });

  it('catches a baseline replaced without contract:accept', async () => {
    const accepted = await readFile(join(root, BASELINE));
    await gen(root, chat({ other: z.string().describe('Else.') }));
    // Someone builds the new proto into the baseline by hand, skipping the changelog.
    await run(join(REPO_ROOT, 'node_modules/.bin/buf'), ['build', 'generated/proto', '--exclude-source-info', '-o', BASELINE], { cwd: root });
    const check = await checkContract(root);
    assert.equal(check.ok, false);
    assert.match(check.report, /changed without `npm run contract:accept`/);
    await writeFile(join(root, BASELINE), accepted);
    await git(root, 'checkout', '-q', '--', '.');
    assert.equal((await checkContract(root)).ok, true);
  });

  it('accept needs a reason, and has nothing to do when the contract is unchanged', async () => {
    await assert.rejects(acceptContract(root, { reason: '  ' }), /A reason is required/);
    assert.deepEqual(await acceptContract(root, { reason: 'again' }), {
      accepted: false,
      report: 'Nothing to accept: generated/proto is the accepted contract already.',
    });
  });
});
