const styles = `
body { padding: 0 8px; color: var(--vscode-foreground); font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); }
.bar { display: flex; gap: 6px; align-items: center; margin: 6px 0; }
select, button { font: inherit; color: var(--vscode-dropdown-foreground); background: var(--vscode-dropdown-background); border: 1px solid var(--vscode-dropdown-border, transparent); border-radius: 2px; padding: 2px 4px; }
button.link { background: none; border: none; color: var(--vscode-textLink-foreground); padding: 0; cursor: pointer; text-align: left; overflow-wrap: anywhere; }
button.link:hover { text-decoration: underline; }
button:focus-visible, select:focus-visible { outline: 1px solid var(--vscode-focusBorder); outline-offset: 1px; }
table { width: 100%; border-collapse: collapse; }
th, td { text-align: left; padding: 3px 4px; border-bottom: 1px solid var(--vscode-widget-border, var(--vscode-panel-border)); vertical-align: top; }
th { font-weight: 600; color: var(--vscode-descriptionForeground); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.muted { color: var(--vscode-descriptionForeground); }
.up { color: var(--vscode-testing-iconPassed, var(--vscode-charts-green)); }
.down { color: var(--vscode-testing-iconFailed, var(--vscode-errorForeground)); }
.error { color: var(--vscode-errorForeground); }
ul.signals { list-style: none; padding: 0; margin: 0; }
ul.signals li { padding: 4px 0; border-bottom: 1px solid var(--vscode-widget-border, var(--vscode-panel-border)); }
.details { display: none; font-size: 0.9em; overflow-wrap: anywhere; }
@media (max-width: 420px) {
  .secondary { display: none; }
  .details { display: block; }
}
.context { white-space: pre-wrap; font-family: var(--vscode-editor-font-family); font-size: 0.9em; max-height: 6em; overflow: hidden; }
`;

/** The Leaderboard view's page (no `vscode` import: tests can serve it under the same CSP). */
export function leaderboardHtml(options: { nonce: string; script: string; preScripts?: string[] }): string {
  const { nonce } = options;
  const pre = (options.preScripts ?? []).map((src) => `<script nonce="${nonce}" src="${src}"></script>`).join('\n  ');
  const csp = ["default-src 'none'", `style-src 'nonce-${nonce}'`, `script-src 'nonce-${nonce}'`].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="UTF-8">
  <meta http-equiv="Content-Security-Policy" content="${csp}">
  <meta name="viewport" content="width=device-width, initial-scale=1.0">
  <title>Leaderboard</title>
  <style nonce="${nonce}">${styles}</style>
</head>
<body>
  <main id="app" aria-live="polite"></main>
  ${pre}
  <script type="module" nonce="${nonce}" src="${options.script}"></script>
</body>
</html>`;
}
