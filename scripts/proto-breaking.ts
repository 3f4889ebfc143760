import { REPO_ROOT } from '../grpc/generated-paths.js';
import { checkContract } from './proto/contract.js';
import { runCheckCli } from './proto/run-check-cli.js';

/**
 * `npm run proto:breaking` (part of `npm test`): `buf breaking` (FILE rules)
 * of generated/proto against the accepted contract, contract/accepted.binpb —
 * not against the previous commit, so a breaking change fails until it is
 * accepted with `npm run contract:accept`, however many commits ago it was made.
 */
runCheckCli(checkContract(REPO_ROOT));
