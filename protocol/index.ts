export * from './status';
export * from './extension';
export * from './webview';
