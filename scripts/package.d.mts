// Types for scripts/package.mjs.
export declare const repoRoot: string;
export declare const defaultVsixPath: string;
export declare const target: string;
export declare function listZip(zipPath: string): Promise<string[]>;
export declare function extractZip(zipPath: string, dir: string): Promise<void>;
export declare function checkVsixContents(vsixPath: string): Promise<string[]>;
export declare function verifyVsixRuntime(vsixPath: string): Promise<void>;
export declare function packageExtension(options?: { out?: string; skipBuild?: boolean; verify?: boolean }): Promise<string>;
