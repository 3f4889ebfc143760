import { REPO_ROOT } from '../grpc/generated-paths.js';
import { checkGenerated } from './proto/check-generated.js';

/** `npm run gen:check`: part of `npm test`; fails when generated/ is stale. */
checkGenerated(REPO_ROOT)
  .then(({ ok, report }) => {
    (ok ? process.stdout : process.stderr).write(`${report}\n`);
    process.exit(ok ? 0 : 1);
  })
  .catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
