import { parseArgs } from 'node:util';
import { REPO_ROOT } from '../grpc/generated-paths.js';
import { runCodegen } from './proto/codegen.js';
import { ACCEPT_COMMAND, acceptContract, gitAuthor } from './proto/contract.js';

/**
 * `npm run contract:accept -- --reason "…"`: the one way to move the accepted
 * gRPC contract. Regenerates generated/ (as `npm run gen`), so what it
 * accepts is what the flows produce, then makes generated/proto the new
 * contract/accepted.binpb and records what changed and why in CONTRACT-CHANGELOG.md.
 */
const USAGE = `Usage: ${ACCEPT_COMMAND}

Regenerates generated/ from the flows (as \`npm run gen\`), makes generated/proto the accepted
contract (contract/accepted.binpb) and adds an entry to CONTRACT-CHANGELOG.md: the reason, the
breaking changes buf reports and every changed RPC, message, field and enum value. Commit
generated/, the baseline and the changelog with the change that needs them.`;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { reason: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (!values.reason?.trim()) {
    process.stderr.write(`A reason is required.\n\n${USAGE}\n`);
    process.exit(2);
  }
  await runCodegen(REPO_ROOT);
  const { report } = await acceptContract(REPO_ROOT, { reason: values.reason, author: await gitAuthor(REPO_ROOT) });
  process.stdout.write(`${report}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
