/** Where the CLI reads the mesh key: --mesh-key-file, else PERSONA_MESH_KEY. */
import { readFileSync } from 'node:fs';
import { takeMeshKeyFromEnv } from '../kernel/meshKey';
import { UsageError } from './args';

export function readMeshKey(file: string | undefined, env: NodeJS.ProcessEnv): string {
  // Taken from the environment even when the file wins: no child process inherits it.
  const fromEnv = takeMeshKeyFromEnv(env);
  if (file === undefined) return fromEnv;
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (error) {
    throw new UsageError(`cannot read the mesh key file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}. Pass a readable file with --mesh-key-file`);
  }
}
