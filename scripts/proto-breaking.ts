import { REPO_ROOT } from '../grpc/generated-paths.js';
import { checkContract } from './proto/contract.js';

/**
 * `npm run proto:breaking` (part of `npm test`): `buf breaking` (FILE rules)
 * of generated/proto against the accepted contract, contract/accepted.binpb —
 * not against the previous commit, so a breaking change fails until it is
 * accepted with `npm run contract:accept`, however many commits ago it was made.
 */
checkContract(REPO_ROOT)
  .then(({ ok, report }) => {
    (ok ? process.stdout : process.stderr).write(`${report}\n`);
    process.exit(ok ? 0 : 1);
  })
  .catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
