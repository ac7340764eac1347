/** Where the CLI reads the mesh key: --mesh-key-file, else PERSONA_MESH_KEY. */
import { readFileSync } from 'node:fs';
import { UsageError } from './args';

export function readMeshKey(file: string | undefined, env: NodeJS.ProcessEnv): string {
  if (file !== undefined) {
    try {
      return readFileSync(file, 'utf8').trim();
    } catch (error) {
      throw new UsageError(`cannot read the mesh key file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}. Pass a readable file with --mesh-key-file`);
    }
  }
  return env.PERSONA_MESH_KEY?.trim() ?? '';
}
