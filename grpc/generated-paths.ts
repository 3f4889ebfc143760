import { join } from 'node:path';
import { APP_ROOT } from '../app-root.js';

/** Where the codegen writes, relative to a project root; one place so scripts, server and tests agree. */

export const REPO_ROOT = APP_ROOT;

export interface GeneratedPaths {
  root: string;
  generatedDir: string;
  protoFile: string;
  lockFile: string;
  descriptorSet: string;
  openApi: string;
}

export const PROTO_FILE_IN_MODULE = 'genkit/flows/v1/flows.proto';

export function generatedPaths(root: string = REPO_ROOT): GeneratedPaths {
  return {
    root,
    generatedDir: join(root, 'generated'),
    protoFile: join(root, 'generated/proto', PROTO_FILE_IN_MODULE),
    lockFile: join(root, 'generated/proto/genkit/flows/v1/flows.lock.json'),
    descriptorSet: join(root, 'generated/descriptor-set.binpb'),
    openApi: join(root, 'generated/openapi.json'),
  };
}

export const LOCK_FILE = generatedPaths().lockFile;
export const DESCRIPTOR_SET = generatedPaths().descriptorSet;
export const OPENAPI_FILE = generatedPaths().openApi;
/** The buf binary shipped by @bufbuild/buf. */
export const BUF = join(REPO_ROOT, 'node_modules/.bin/buf');
