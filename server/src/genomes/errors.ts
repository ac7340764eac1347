/** Every way a genome operation can fail, with a code the CLI, the IPC server and tests match on. */
export type GenomeErrorCode =
  | 'bad-manifest'
  | 'bad-signature'
  | 'bad-layer'
  | 'bad-adapter'
  | 'too-large'
  | 'no-space'
  | 'not-found'
  | 'no-holders'
  | 'cancelled'
  | 'offline'
  | 'io';

export class GenomeError extends Error {
  constructor(
    readonly code: GenomeErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'GenomeError';
  }
}
