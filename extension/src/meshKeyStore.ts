import * as vscode from 'vscode';

const secretKey = 'personaMesh.meshKey';

/**
 * The mesh key lives in SecretStorage. PERSONA_MESH_KEY in the editor's environment is a
 * fallback for demos and headless setups (code-server started by a script).
 */
export class MeshKeyStore {
  constructor(private readonly secrets: vscode.SecretStorage, private readonly env: NodeJS.ProcessEnv = process.env) {}

  async get(): Promise<string> {
    const stored = await this.secrets.get(secretKey);
    return stored?.trim() || this.env.PERSONA_MESH_KEY?.trim() || '';
  }

  async set(key: string): Promise<void> {
    await this.secrets.store(secretKey, key.trim());
  }

  onDidChange(listener: () => void): vscode.Disposable {
    return this.secrets.onDidChange((event) => {
      if (event.key === secretKey) listener();
    });
  }
}
