/** Types for the parts of `noise-handshake` (Holepunch, plain JS) that the session uses. */
declare module 'noise-handshake' {
  export interface KeyPair {
    publicKey: Buffer;
    secretKey: Buffer;
  }
  export default class NoiseState {
    constructor(pattern: 'XX' | 'IK' | 'NN' | 'XK', initiator: boolean, staticKeypair?: KeyPair | null, opts?: object);
    readonly s: KeyPair;
    rs: Buffer | null;
    /** The sending key once complete. */
    tx: Buffer | null;
    /** The receiving key once complete. */
    rx: Buffer | null;
    hash: Buffer | null;
    complete: boolean;
    initialise(prologue: Uint8Array, remoteStatic?: Uint8Array): void;
    send(payload?: Uint8Array): Buffer;
    recv(message: Uint8Array): Buffer;
  }
}

declare module 'noise-handshake/dh' {
  import type { KeyPair } from 'noise-handshake';
  export function generateKeyPair(secretKey?: Buffer): KeyPair;
  export const PKLEN: number;
}
