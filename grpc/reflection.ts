import type { Server } from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';

/**
 * gRPC server reflection built from the buf-built FileDescriptorSet
 * (generated/descriptor-set.binpb: our proto, google/protobuf/struct.proto and
 * the health proto). Not from @grpc/proto-loader: its synthesized map-entry
 * names break reflection clients on messages with map fields.
 */

/** @grpc/reflection only reads `fileDescriptorProtos` (serialized FileDescriptorProto) from each entry. */
type ReflectionPackage = ConstructorParameters<typeof ReflectionService>[0];

/** Splits a FileDescriptorSet (`repeated FileDescriptorProto file = 1`) into its serialized files. */
export function fileDescriptorProtos(descriptorSet: Uint8Array): Buffer[] {
  const reader = new BinaryReader(descriptorSet);
  const files: Buffer[] = [];
  while (reader.pos < reader.len) {
    const [fieldNo, wireType] = reader.tag();
    if (fieldNo === 1 && wireType === WireType.LengthDelimited) files.push(Buffer.from(reader.bytes()));
    else reader.skip(wireType, fieldNo);
  }
  return files;
}

export function addReflection(server: Server, descriptorSet: Uint8Array): void {
  const pkg = { 'buf-descriptor-set': { fileDescriptorProtos: fileDescriptorProtos(descriptorSet) } } as unknown as ReflectionPackage;
  new ReflectionService(pkg).addToServer(server);
}
