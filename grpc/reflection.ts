import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import {
  FileDescriptorProtoSchema,
  FileDescriptorSetSchema,
  type DescriptorProto,
  type EnumDescriptorProto,
  type FileDescriptorProto,
} from '@bufbuild/protobuf/wkt';
import type { ProtobufTypeDefinition, Server } from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';

/**
 * gRPC server reflection from a buf-built FileDescriptorSet (`buf build -o x.binpb`),
 * not from @grpc/proto-loader: proto-loader re-derives descriptors through
 * protobufjs, whose synthesized map-entry names break reflection clients on
 * messages with `map<>` fields. buf's descriptors are protoc's, byte for byte.
 *
 * What @grpc/reflection 1.0.4 reads: for every value of the PackageDefinition it
 * takes `fileDescriptorProtos` (if an array), decodes each buffer and keeps the
 * first file per `name`. Keys, `format` and `type` are never read. It then
 * indexes symbols itself and works out a file's dependencies from the type
 * references it finds (not from `dependency`), so `file_containing_symbol` and
 * `file_by_filename` can only return imports (google/protobuf/struct.proto …)
 * that some entry carried. Services it lists are every service in those files
 * (incl. grpc.reflection.* only if their protos are in the set).
 */

/** One entry per fully-qualified message, enum and service name, proto-loader style. */
export type ReflectionPackageDefinition = Record<string, ProtobufTypeDefinition>;

/**
 * One FileDescriptorSet out of several (e.g. our `buf build` plus the health
 * and reflection protos built from node_modules). Files are kept in first-seen
 * order; a name seen twice must have identical content.
 */
export function mergeDescriptorSets(...sets: Uint8Array[]): Uint8Array {
  const files = uniqueFiles(sets.flatMap((set) => fromBinary(FileDescriptorSetSchema, set).file));
  return toBinary(FileDescriptorSetSchema, create(FileDescriptorSetSchema, { file: [...files.values()] }));
}

/** The PackageDefinition @grpc/reflection's ReflectionService needs, from a FileDescriptorSet. */
export function reflectionPackageDefinition(descriptorSet: Uint8Array): ReflectionPackageDefinition {
  const files = uniqueFiles(fromBinary(FileDescriptorSetSchema, descriptorSet).file);
  const encoded = new Map([...files].map(([name, file]) => [name, Buffer.from(toBinary(FileDescriptorProtoSchema, file))]));

  /** The file itself, then its transitive imports; a missing import fails here, not in a client. */
  const withImports = (file: FileDescriptorProto): Buffer[] => {
    const seen = new Set<string>();
    const visit = (name: string, importedBy: string) => {
      if (seen.has(name)) return;
      const dep = files.get(name);
      if (!dep) throw new Error(`descriptor set: ${importedBy} imports ${name}, which is not in the set (built with --exclude-imports?)`);
      seen.add(name);
      dep.dependency.forEach((d) => visit(d, name));
    };
    visit(file.name, file.name);
    return [...seen].map((name) => encoded.get(name)!);
  };

  const definition: ReflectionPackageDefinition = {};
  for (const file of files.values()) {
    const fileDescriptorProtos = withImports(file);
    const prefix = file.package ? `${file.package}.` : '';
    const addEnum = (scope: string, e: EnumDescriptorProto) =>
      (definition[`${scope}${e.name}`] = { format: 'Protocol Buffer 3 EnumDescriptorProto', type: e, fileDescriptorProtos });
    const addMessage = (scope: string, m: DescriptorProto) => {
      if (m.options?.mapEntry) return; // synthetic `XxxEntry` of a map<> field, not a user-visible type
      const name = `${scope}${m.name}`;
      definition[name] = { format: 'Protocol Buffer 3 DescriptorProto', type: m, fileDescriptorProtos };
      m.nestedType.forEach((n) => addMessage(`${name}.`, n));
      m.enumType.forEach((e) => addEnum(`${name}.`, e));
    };
    file.messageType.forEach((m) => addMessage(prefix, m));
    file.enumType.forEach((e) => addEnum(prefix, e));
    // Services get an entry too, so a file holding only services is still served.
    // (proto-loader would put a ServiceDefinition with serializers here; reflection does not read it.)
    file.service.forEach((s) => {
      definition[`${prefix}${s.name}`] = { format: 'Protocol Buffer 3 ServiceDescriptorProto', type: s, fileDescriptorProtos };
    });
  }
  return definition;
}

/**
 * Registers grpc.reflection.v1.ServerReflection and grpc.reflection.v1alpha.ServerReflection
 * (@grpc/reflection adds both) answering from `descriptorSet`.
 */
export function addReflection(
  server: Pick<Server, 'addService'>,
  descriptorSet: Uint8Array,
  options?: ConstructorParameters<typeof ReflectionService>[1],
): void {
  // ReflectionService is typed with proto-loader's PackageDefinition, whose service
  // entries are method maps; it only reads `fileDescriptorProtos` (see above).
  const pkg = reflectionPackageDefinition(descriptorSet) as unknown as ConstructorParameters<typeof ReflectionService>[0];
  new ReflectionService(pkg, options).addToServer(server);
}

function uniqueFiles(files: FileDescriptorProto[]): Map<string, FileDescriptorProto> {
  const byName = new Map<string, FileDescriptorProto>();
  for (const file of files) {
    const seen = byName.get(file.name);
    if (!seen) byName.set(file.name, file);
    else if (!Buffer.from(toBinary(FileDescriptorProtoSchema, seen)).equals(toBinary(FileDescriptorProtoSchema, file))) {
      throw new Error(`descriptor set: two different versions of ${file.name}`);
    }
  }
  return byName;
}
