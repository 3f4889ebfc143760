import { REPO_ROOT } from '../grpc/generated-paths.js';
import { checkGenerated } from './proto/check-generated.js';
import { runCheckCli } from './proto/run-check-cli.js';

/** `npm run gen:check`: part of `npm test`; fails when generated/ is stale. */
runCheckCli(checkGenerated(REPO_ROOT));
