// Types for scripts/code-server.mjs (used by the TypeScript end-to-end suites).
export declare const CODE_SERVER_VERSION: string;
export declare const repoRoot: string;
export declare const cacheDir: string;
export declare const codeServerDir: string;
export declare const codeServerEntry: string;
export declare const codeServerFlags: string[];

export declare function isCodeServerInstalled(): boolean;
export declare function installCodeServer(options?: { log?: (line: string) => void; force?: boolean }): Promise<{ dir: string; entry: string }>;
export declare function freePort(): Promise<number>;
export declare function processTree(pid: number): number[];

export interface StartCodeServerOptions {
  port?: number;
  host?: string;
  userDataDir?: string;
  extensionsDir?: string;
  folder?: string;
  env?: Record<string, string>;
  extraArgs?: string[];
  log?: (line: string) => void;
  /** Copy code-server's output to stderr as it comes. */
  echo?: boolean;
  timeoutMs?: number;
}

export interface RunningCodeServer {
  url: string;
  port: number;
  pid: number;
  userDataDir: string;
  extensionsDir: string;
  /** code-server's stdout and stderr so far (the last 100-200 kB). */
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Ends code-server and every process it started; removes its temp folder. */
  stop(): Promise<void>;
}

export declare function startCodeServer(options?: StartCodeServerOptions): Promise<RunningCodeServer>;
export declare function installVsix(vsixPath: string, extensionsDir: string, options?: { log?: (line: string) => void }): Promise<string>;
