/**
 * Refusals: a code for programs and one line for the user. The services (rooms, academy,
 * challenges, review) throw them, and so do the checkers of what enters a program (check.ts); the
 * server's RPC handlers send them as ResponseErrors with the JSON-RPC code of this one table, and
 * the extension reads the same table back.
 */
export type ServiceErrorCode = 'invalid' | 'not-found' | 'not-joined' | 'not-author' | 'too-large' | 'rate-limited' | 'unavailable';

/** JSON-RPC error codes sent to the extension, one per ServiceErrorCode. */
export const serviceErrorRpcCodes: Record<ServiceErrorCode, number> = {
  invalid: -32602,
  'not-found': 4040,
  'not-joined': 4030,
  'not-author': 4031,
  'too-large': 4130,
  'rate-limited': 4290,
  unavailable: 5030,
};

export class ServiceError extends Error {
  constructor(readonly code: ServiceErrorCode, message: string) {
    super(message);
    this.name = 'ServiceError';
  }
}
