/** Messages between the chat panel webview and the extension: one typed union each way. */
import type { NodeStatus } from './status';

/** extension → webview */
export type ToWebview =
  | { type: 'status'; status: NodeStatus | undefined; serverRunning: boolean };

/** webview → extension */
export type FromWebview =
  | { type: 'ready' }
  | { type: 'runCommand'; command: WebviewCommand };

/** The commands a webview may ask the extension to run (an allow-list, not arbitrary ids). */
export type WebviewCommand = 'personaMesh.showStatus' | 'personaMesh.setMeshKey' | 'personaMesh.showLogs' | 'personaMesh.restartServer';

/** Persisted with the webview's setState so the panel survives hide/show and reload. */
export interface WebviewState {
  version: 1;
  lastStatus?: NodeStatus;
}
