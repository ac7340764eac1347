/** The chat panel's page (no `vscode` import: the browser test harness serves the same page under the same CSP). */
export function chatHtml(options: { nonce: string; cspSource: string; script: string; codicons: string; preScripts?: string[] }): string {
  const { nonce, cspSource } = options;
  const csp = [
    "default-src 'none'",
    `style-src ${cspSource} 'nonce-${nonce}'`,
    `font-src ${cspSource}`,
    `img-src ${cspSource} data:`,
    `script-src 'nonce-${nonce}'`,
  ].join('; ');
  const pre = (options.preScripts ?? []).map((src) => `<script nonce="${nonce}" src="${src}"></script>`).join('\n  ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="UTF-8">
  <meta http-equiv="Content-Security-Policy" content="${csp}">
  <meta name="viewport" content="width=device-width, initial-scale=1.0">
  <link rel="stylesheet" href="${options.codicons}" id="vscode-codicon-stylesheet">
  <title>Persona Mesh</title>
</head>
<body>
  <mesh-app></mesh-app>
  ${pre}
  <script type="module" nonce="${nonce}" src="${options.script}"></script>
</body>
</html>`;
}
