/**
 * How a failure leaves an RPC handler: a ResponseError whose message is one line for the user.
 * A ServiceError keeps its code (errors.ts); a service with errors of its own maps them first.
 */
import { ErrorCodes, ResponseError } from 'vscode-languageserver';
import { ServiceError, serviceErrorRpcCodes } from '../../../protocol/errors';
import { describeError } from './lifecycle';

export function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').slice(0, 500);
}

/** `scope` names the service in an unexpected failure's message ("rooms: ..."). */
export function toResponseError(error: unknown, scope: string, own?: (error: unknown) => ResponseError<void> | undefined): ResponseError<void> {
  if (error instanceof ResponseError) return error as ResponseError<void>;
  if (error instanceof ServiceError) return new ResponseError(serviceErrorRpcCodes[error.code], oneLine(error.message));
  return own?.(error) ?? new ResponseError(ErrorCodes.InternalError, oneLine(`${scope}: ${describeError(error)}`));
}
