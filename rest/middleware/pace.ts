import type { RequestHandler } from 'express';
import { admitCall, type AdmissionPacer } from '../../server/admission-pacer.js';

/** Admits requests through the pacer shared with gRPC (server/admission-pacer.ts). */
export function pace(pacer: AdmissionPacer): RequestHandler {
  return (_req, _res, next) => admitCall(pacer, next);
}
