/** Refusals of the rooms layer: a code for programs and one line for the user. */
export type RoomErrorCode = 'invalid' | 'not-found' | 'not-joined' | 'not-author' | 'too-large' | 'rate-limited' | 'unavailable';

/** JSON-RPC error codes sent to the extension, one per RoomErrorCode. */
export const roomErrorRpcCodes: Record<RoomErrorCode, number> = {
  invalid: -32602,
  'not-found': 4040,
  'not-joined': 4030,
  'not-author': 4031,
  'too-large': 4130,
  'rate-limited': 4290,
  unavailable: 5030,
};

export class RoomError extends Error {
  constructor(readonly code: RoomErrorCode, message: string) {
    super(message);
    this.name = 'RoomError';
  }
}
