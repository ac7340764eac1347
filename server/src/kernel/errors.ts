/**
 * Refusals of the services (rooms, academy, challenges, review): a code for programs and one line
 * for the user; the RPC handlers send them as ResponseErrors (responseError.ts).
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
