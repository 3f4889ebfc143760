import { applyLock, type ProtoLock } from '../../grpc/proto-lock.js';
import { buildServiceModel, type FlowSchemas } from '../../grpc/service-model.js';
import { renderProto } from './render-proto.js';

/** Pure step of the codegen: flow schemas + previous lock → proto text + next lock. */
export function generateProto(flows: readonly FlowSchemas[], previousLock: ProtoLock): { proto: string; lock: ProtoLock } {
  const service = buildServiceModel(flows);
  const lock = applyLock(service.schema, previousLock);
  return { proto: renderProto(service, lock), lock };
}
