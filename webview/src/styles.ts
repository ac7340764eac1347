/** Shared styles: theme variables only, so light, dark and high-contrast themes all work. */
import { css, html } from 'lit';

/** Codicon classes inside a shadow root (the font itself is declared by the page's stylesheet). */
export function codicons() {
  const href = (document.getElementById('vscode-codicon-stylesheet') as HTMLLinkElement | null)?.href;
  return href ? html`<link rel="stylesheet" href=${href} />` : html``;
}

export const base = css`
  :host { box-sizing: border-box; }
  *, *::before, *::after { box-sizing: inherit; }
  .sr-only { position: absolute; width: 1px; height: 1px; padding: 0; margin: -1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0; }
  :focus-visible { outline: 1px solid var(--vscode-focusBorder); outline-offset: -1px; }
  button.icon {
    display: inline-flex; align-items: center; justify-content: center; gap: 4px; min-width: 24px; height: 22px; padding: 0 4px;
    color: var(--vscode-icon-foreground, var(--vscode-foreground)); background: transparent; border: 1px solid transparent; border-radius: 4px;
    font: inherit; cursor: pointer;
  }
  button.icon:hover { background: var(--vscode-toolbar-hoverBackground); outline: 1px dashed var(--vscode-contrastActiveBorder, transparent); }
  button.icon[aria-pressed='true'] { background: var(--vscode-toolbar-activeBackground, var(--vscode-toolbar-hoverBackground));
    border-color: var(--vscode-contrastActiveBorder, var(--vscode-focusBorder)); }
  button.link { padding: 0; border: 0; background: none; color: var(--vscode-textLink-foreground); font: inherit; cursor: pointer; text-align: left; }
  button.link:hover { text-decoration: underline; color: var(--vscode-textLink-activeForeground); }
  .error { color: var(--vscode-errorForeground); border-left: 3px solid var(--vscode-inputValidation-errorBorder, var(--vscode-errorForeground));
    background: var(--vscode-inputValidation-errorBackground, transparent); padding: 4px 8px; margin: 4px 0; }
  .dot { display: inline-block; flex: none; width: 8px; height: 8px; border-radius: 50%; border: 1px solid var(--vscode-contrastBorder, transparent); }
  .dot.online { background: var(--vscode-testing-iconPassed, #3fb950); }
  .dot.away { background: var(--vscode-editorWarning-foreground, #d29922); }
  .dot.busy { background: var(--vscode-errorForeground, #f85149); }
  .dot.training, .dot.evolving, .dot.collaborating { background: var(--vscode-charts-blue, #58a6ff); }
  .dot.offline { background: transparent; border: 1px solid var(--vscode-disabledForeground, #888); }
  .dot.system { background: var(--vscode-descriptionForeground, #888); border-radius: 2px; }
`;

/** Syntax colours from the theme's symbol and debug token colours. */
export const highlightTheme = css`
  .hljs-comment, .hljs-quote { color: var(--vscode-descriptionForeground); font-style: italic; }
  .hljs-keyword, .hljs-selector-tag, .hljs-literal, .hljs-doctag { color: var(--vscode-symbolIcon-keywordForeground, var(--vscode-debugTokenExpression-name)); }
  .hljs-string, .hljs-regexp, .hljs-addition, .hljs-attr-value { color: var(--vscode-debugTokenExpression-string); }
  .hljs-number, .hljs-symbol, .hljs-bullet { color: var(--vscode-debugTokenExpression-number); }
  .hljs-title, .hljs-title.function_, .hljs-section { color: var(--vscode-symbolIcon-functionForeground); }
  .hljs-type, .hljs-title.class_, .hljs-built_in { color: var(--vscode-symbolIcon-classForeground); }
  .hljs-attr, .hljs-attribute, .hljs-variable, .hljs-property, .hljs-params { color: var(--vscode-symbolIcon-variableForeground, var(--vscode-debugTokenExpression-name)); }
  .hljs-meta, .hljs-tag, .hljs-name { color: var(--vscode-symbolIcon-namespaceForeground, var(--vscode-descriptionForeground)); }
  .hljs-deletion { color: var(--vscode-errorForeground); }
  .hljs-emphasis { font-style: italic; }
  .hljs-strong { font-weight: bold; }
`;
