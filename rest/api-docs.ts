import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import express, { type Router } from 'express';
import { BEARER_SCHEME } from './openapi-document.js';

/**
 * GET /openapi.json and an interactive page at GET /docs (swagger-ui-dist,
 * served from our own origin: no CDN, works offline). Mounted only in debug
 * or with API_DOCS=true. The page needs scripts and styles, so /docs gets a
 * CSP of its own (self only); every other path keeps `default-src 'none'`.
 */

const DOCS_CSP = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'";

/**
 * Where swagger-ui-dist's files are. Its main module would load the whole
 * 1.5 MB UI bundle into the server (slower start, more memory) just to tell
 * us its folder, so ask its `absolute-path.js` helper instead, and only when
 * docs are on.
 */
function swaggerUiDir(): string {
  return (createRequire(import.meta.url)('swagger-ui-dist/absolute-path.js') as () => string)();
}

const INDEX_HTML = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>API docs</title>
  <link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script src="/docs/init.js"></script>
</body>
</html>
`;

const INIT_JS = `window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#swagger-ui', deepLinking: true });\n`;

export interface ApiDocsOptions {
  /** The generated document (generated/openapi.json). */
  openApiFile: string;
  /** With API keys configured, every flow operation requires the Bearer scheme. */
  requireBearer: boolean;
}

export function apiDocs(options: ApiDocsOptions): Router {
  const document = JSON.parse(readFileSync(options.openApiFile, 'utf8')) as Record<string, unknown>;
  const served = options.requireBearer ? { ...document, security: [{ [BEARER_SCHEME]: [] }] } : document;
  const router = express.Router();
  router.get('/openapi.json', (_req, res) => {
    res.json(served);
  });
  router.use('/docs', (_req, res, next) => {
    res.setHeader('Content-Security-Policy', DOCS_CSP);
    next();
  });
  router.get('/docs', (req, res, next) => (req.originalUrl === '/docs' ? res.redirect(301, '/docs/') : next()));
  router.get('/docs/', (_req, res) => {
    res.type('html').send(INDEX_HTML);
  });
  router.get('/docs/init.js', (_req, res) => {
    res.type('application/javascript').send(INIT_JS);
  });
  router.use('/docs', express.static(swaggerUiDir(), { index: false, fallthrough: true }));
  return router;
}
