import { context } from '@opentelemetry/api';
import type { RequestHandler } from 'express';
import type { AdmissionPacer } from '../../server/admission-pacer.js';

/** Admits requests through the shared pacer (server/admission-pacer.ts); a deferred one resumes in its own trace context. */
export function pace(pacer: AdmissionPacer): RequestHandler {
  return (_req, _res, next) => {
    if (pacer.tryAdmit()) return next();
    const active = context.active();
    pacer.defer(() => context.with(active, next));
  };
}
