/**
 * Errors crossing a thread boundary: an Error is structured-cloned without its class or its own fields, so a
 * worker sends name, code, message and the plain fields, and the host rebuilds a DcError with the same code
 * (`DcError.isInstance` and `.code` checks keep working; packages rebuild their own classes where they need to).
 */
import { DcError } from '../errors.js';

export interface WireError {
  name: string;
  code: string;
  message: string;
  fields: Record<string, unknown>;
}

export function errorToWire(e: unknown): WireError {
  const err = e instanceof Error ? e : new Error(String(e));
  const fields: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(err)) {
    if (['string', 'number', 'boolean'].includes(typeof v) || v === null) fields[k] = v;
  }
  return { name: err.name, code: DcError.isInstance(err) ? err.code : 'WORKER_ERROR', message: err.message, fields };
}

/** A DcError carrying the worker's name, code (DC_ERROR for a plain Error), message and plain fields. */
export function errorFromWire(w: WireError): DcError {
  const e = new DcError(w.message, w.code === 'WORKER_ERROR' ? 'DC_ERROR' : w.code);
  e.name = w.name;
  Object.assign(e, w.fields);
  return e;
}
