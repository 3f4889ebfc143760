import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The project directory: where package.json, generated/ and prompts/ live.
 * This file is at the top of the source tree (`npm start` from source) and at
 * the top of dist/ once built (`node dist/main.js`), so the project is either
 * its own directory or the one above. Files read at run time are found from
 * here, never from the working directory.
 */
function findAppRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const candidate of [here, dirname(here)]) {
    if (existsSync(join(candidate, 'package.json'))) return candidate;
  }
  throw new Error(`no package.json in ${here} or its parent: cannot find generated/ and prompts/`);
}

export const APP_ROOT = findAppRoot();
