import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { runCodegen } from './codegen.js';

const run = promisify(execFile);

/**
 * The drift check of `npm test`: regenerate, then fail if generated/ differs
 * from what git has (changed or new files), naming the command that fixes it.
 */
export async function checkGenerated(root: string): Promise<{ ok: boolean; report: string }> {
  await runCodegen(root);
  const { stdout } = await run('git', ['status', '--porcelain', '--untracked-files=all', '--', 'generated'], { cwd: root });
  if (!stdout.trim()) return { ok: true, report: 'generated/ is up to date with the flows.' };
  return {
    ok: false,
    report:
      'generated/ is out of date with the flows. Run `npm run gen` and commit the result ' +
      '(check the proto diff keeps every field number):\n' +
      stdout,
  };
}

