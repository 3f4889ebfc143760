import { fileURLToPath } from 'node:url';

/** Where the codegen writes; one place so the scripts, the server and the tests agree. */
const root = (path: string) => fileURLToPath(new URL(`../${path}`, import.meta.url));

export const REPO_ROOT = root('');
export const GENERATED_DIR = root('generated');
export const PROTO_ROOT = root('generated/proto');
export const PROTO_FILE = root('generated/proto/genkit/flows/v1/flows.proto');
export const PROTO_FILE_IN_MODULE = 'genkit/flows/v1/flows.proto';
export const LOCK_FILE = root('generated/proto/genkit/flows/v1/flows.lock.json');
export const DESCRIPTOR_SET = root('generated/descriptor-set.binpb');
export const BUF = root('node_modules/.bin/buf');
