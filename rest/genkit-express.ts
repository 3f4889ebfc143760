import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

/**
 * `@genkit-ai/express` 1.42 lists `"default": "./lib/index.js"` before
 * `"import"` in its exports map, so even an ES module import resolves to the
 * CommonJS build, which then requires the CommonJS copy of `genkit`. Errors
 * our (ESM) flows throw are then instances of the *other* GenkitError class,
 * and `expressHandler` answers every one of them with 500 INTERNAL (that is
 * what a plain `startFlowServer` does here). Loading the package's own ESM
 * build by file URL keeps one copy of Genkit, so statuses map correctly.
 */
type ExpressPlugin = typeof import('@genkit-ai/express');

const cjsEntry = createRequire(import.meta.url).resolve('@genkit-ai/express');
const esmEntry = pathToFileURL(cjsEntry.replace(/index\.js$/, 'index.mjs')).href;
const plugin = (await import(esmEntry)) as ExpressPlugin;

export const expressHandler: ExpressPlugin['expressHandler'] = plugin.expressHandler;
