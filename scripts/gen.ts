import { generatedPaths, REPO_ROOT } from '../grpc/generated-paths.js';
import { runCodegen } from './proto/codegen.js';

/**
 * `npm run gen`: flow registry → generated/proto (.proto + field-number lock)
 * → generated/ts (ts-proto via `buf generate`) and the reflection descriptor
 * set. Deterministic: a second run changes no byte.
 */
runCodegen(REPO_ROOT)
  .then(() => process.stdout.write(`Regenerated ${generatedPaths().generatedDir}\n`))
  .catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
