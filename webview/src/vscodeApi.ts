import type { FromWebview, WebviewState } from '../../protocol/webview';

interface VsCodeApi {
  postMessage(message: FromWebview): void;
  getState(): WebviewState | undefined;
  setState(state: WebviewState): void;
}

declare function acquireVsCodeApi(): VsCodeApi;

/** acquireVsCodeApi may be called once per webview: everything goes through this one instance. */
export const vscode: VsCodeApi = acquireVsCodeApi();
