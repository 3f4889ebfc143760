import { fromBinary } from '@bufbuild/protobuf';
import { PROTO_PACKAGE } from '../../grpc/service-model.js';
import {
  FieldDescriptorProto_Label,
  FieldDescriptorProto_Type,
  FileDescriptorSetSchema,
  type DescriptorProto,
  type EnumDescriptorProto,
  type FieldDescriptorProto,
} from '@bufbuild/protobuf/wkt';

/**
 * A readable list of what differs between two contracts (buf images), for
 * the contract changelog: every RPC, message, field (type and number), enum
 * and enum value, as `+` added, `-` removed, `~` changed. buf decides what is
 * breaking; this says what changed, breaking or not.
 */

export function contractDiff(before: Uint8Array | undefined, after: Uint8Array): string[] {
  const old = before ? elements(before) : new Map<string, string>();
  const now = elements(after);
  const out: string[] = [];
  for (const [key, value] of now) {
    const was = old.get(key);
    if (was === undefined) out.push(`+ ${key}${value ? ` ${value}` : ''}`);
    else if (was !== value) out.push(`~ ${key}: ${was} → ${value}`);
  }
  for (const [key, value] of old) if (!now.has(key)) out.push(`- ${key}${value ? ` ${value}` : ''}`);
  return out;
}

/** Every element of the contract's own files (not its imports), by a stable key. */
function elements(image: Uint8Array): Map<string, string> {
  const out = new Map<string, string>();
  const set = fromBinary(FileDescriptorSetSchema, image);
  for (const file of set.file.filter((f) => f.package === PROTO_PACKAGE)) {
    const options = file.options;
    for (const [name, value] of Object.entries({
      go_package: options?.goPackage,
      java_package: options?.javaPackage,
      java_multiple_files: options?.javaMultipleFiles,
      java_outer_classname: options?.javaOuterClassname,
      csharp_namespace: options?.csharpNamespace,
      objc_class_prefix: options?.objcClassPrefix,
      php_namespace: options?.phpNamespace,
      ruby_package: options?.rubyPackage,
    })) {
      if (value !== undefined && value !== '' && value !== false) out.set(`option ${name}`, `= ${JSON.stringify(value)}`);
    }
    for (const service of file.service) {
      for (const method of service.method) {
        const stream = (yes: boolean | undefined) => (yes ? 'stream ' : '');
        out.set(
          `rpc ${service.name}.${method.name}`,
          `(${stream(method.clientStreaming)}${local(method.inputType)}) returns (${stream(method.serverStreaming)}${local(method.outputType)})`,
        );
      }
    }
    for (const message of file.messageType) addMessage(out, message, '');
    for (const enumType of file.enumType) addEnum(out, enumType, '');
  }
  return out;
}

function addMessage(out: Map<string, string>, message: DescriptorProto, scope: string): void {
  const name = `${scope}${message.name}`;
  if (message.options?.mapEntry) return;
  out.set(`message ${name}`, '');
  const mapEntries = new Map(message.nestedType.filter((n) => n.options?.mapEntry).map((n) => [n.name, n]));
  for (const field of message.field) {
    out.set(`field ${name}.${field.name}`, `= ${field.number} (${fieldType(field, mapEntries)})${isRequired(field) ? ' REQUIRED' : ''}`);
  }
  for (const nested of message.nestedType) addMessage(out, nested, `${name}.`);
  for (const enumType of message.enumType) addEnum(out, enumType, `${name}.`);
}

function addEnum(out: Map<string, string>, enumType: EnumDescriptorProto, scope: string): void {
  const name = `${scope}${enumType.name}`;
  out.set(`enum ${name}`, '');
  for (const value of enumType.value) out.set(`enum value ${name}.${value.name}`, `= ${value.number}`);
}

/** `(google.api.field_behavior) = REQUIRED` (extension 1052, value 2), read from the options' unknown fields. */
function isRequired(field: FieldDescriptorProto): boolean {
  return (field.options?.$unknown ?? []).some((u) => u.no === FIELD_BEHAVIOR_EXTENSION && u.data.includes(REQUIRED_BEHAVIOR));
}
const FIELD_BEHAVIOR_EXTENSION = 1052;
const REQUIRED_BEHAVIOR = 2;

function fieldType(field: FieldDescriptorProto, mapEntries: Map<string, DescriptorProto>): string {
  const entry = mapEntries.get(local(field.typeName).split('.').at(-1) ?? '');
  if (entry && field.label === FieldDescriptorProto_Label.REPEATED) {
    const [key, value] = entry.field;
    return `map<${scalarOrType(key!)}, ${scalarOrType(value!)}>`;
  }
  const label = field.label === FieldDescriptorProto_Label.REPEATED ? 'repeated ' : field.proto3Optional ? 'optional ' : '';
  return `${label}${scalarOrType(field)}`;
}

function scalarOrType(field: FieldDescriptorProto): string {
  if (field.typeName) return local(field.typeName);
  return (FieldDescriptorProto_Type[field.type] ?? String(field.type)).toLowerCase();
}

/** `.genkit.flows.v1.TellJokeRequest` → `TellJokeRequest`; other packages keep their name. */
function local(typeName: string): string {
  return typeName.startsWith(`.${PROTO_PACKAGE}.`) ? typeName.slice(PROTO_PACKAGE.length + 2) : typeName.replace(/^\./, '');
}
