import { PROTO_PACKAGE } from '../../grpc/service-model.js';

/**
 * Language options of the generated proto, so protoc plugins of other
 * languages generate code with idiomatic names and no local flags. The values
 * follow buf's managed-mode conventions for the package `genkit.flows.v1`
 * (Go import path under this project's name; Java under `com.`; a three-letter
 * Objective-C prefix). A team that publishes the stubs under its own names
 * overrides them at generation time (buf managed mode, `protoc --go_opt=M…`).
 */

const words = PROTO_PACKAGE.split('.'); // ['genkit', 'flows', 'v1']
const pascal = words.map((w) => w.charAt(0).toUpperCase() + w.slice(1));

export const GO_MODULE = 'genkit-flow-gateway/gen/go';

export const FILE_OPTIONS: ReadonlyArray<readonly [string, string | boolean]> = [
  ['csharp_namespace', pascal.join('.')],
  ['go_package', `${GO_MODULE}/${words.join('/')};${words.at(-2)}${words.at(-1)}`],
  ['java_multiple_files', true],
  ['java_outer_classname', 'FlowsProto'],
  ['java_package', `com.${PROTO_PACKAGE}`],
  ['objc_class_prefix', 'GFX'],
  ['php_namespace', pascal.join('\\')],
  ['ruby_package', pascal.join('::')],
];

export function fileOptionLines(): string[] {
  return FILE_OPTIONS.map(([name, value]) => `option ${name} = ${typeof value === 'string' ? JSON.stringify(value) : String(value)};`);
}
