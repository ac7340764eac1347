/**
 * Message Markdown → safe HTML. Remote text may contain anything, so: markdown-it with raw HTML
 * off and links limited to http(s)/mailto, then DOMPurify with a small allow-list (no scripts, no
 * event handlers, no styles, no other URL schemes). Code blocks are highlighted and get Copy and
 * Insert at Cursor buttons; their source stays in JS (`blocks`), never read back from the DOM.
 */
import DOMPurify from 'dompurify';
import hljs from 'highlight.js/lib/core';
import bash from 'highlight.js/lib/languages/bash';
import c from 'highlight.js/lib/languages/c';
import cpp from 'highlight.js/lib/languages/cpp';
import css from 'highlight.js/lib/languages/css';
import diff from 'highlight.js/lib/languages/diff';
import go from 'highlight.js/lib/languages/go';
import java from 'highlight.js/lib/languages/java';
import javascript from 'highlight.js/lib/languages/javascript';
import json from 'highlight.js/lib/languages/json';
import markdown from 'highlight.js/lib/languages/markdown';
import python from 'highlight.js/lib/languages/python';
import rust from 'highlight.js/lib/languages/rust';
import sql from 'highlight.js/lib/languages/sql';
import typescript from 'highlight.js/lib/languages/typescript';
import xml from 'highlight.js/lib/languages/xml';
import yaml from 'highlight.js/lib/languages/yaml';
import MarkdownIt from 'markdown-it';

for (const [name, language] of Object.entries({ bash, c, cpp, css, diff, go, java, javascript, json, markdown, python, rust, sql, typescript, xml, yaml })) {
  hljs.registerLanguage(name, language);
}
hljs.registerAliases(['sh', 'shell', 'zsh', 'shellscript'], { languageName: 'bash' });
hljs.registerAliases(['ts', 'tsx', 'typescriptreact'], { languageName: 'typescript' });
hljs.registerAliases(['js', 'jsx', 'javascriptreact', 'mjs', 'cjs'], { languageName: 'javascript' });
hljs.registerAliases(['py'], { languageName: 'python' });
hljs.registerAliases(['rs'], { languageName: 'rust' });
hljs.registerAliases(['html', 'svg'], { languageName: 'xml' });
hljs.registerAliases(['yml'], { languageName: 'yaml' });
hljs.registerAliases(['jsonc'], { languageName: 'json' });
hljs.registerAliases(['md'], { languageName: 'markdown' });

export interface CodeBlock {
  code: string;
  language: string;
}

export interface Rendered {
  /** Sanitised nodes: clone before inserting (the cached original is reused). */
  fragment: DocumentFragment;
  blocks: CodeBlock[];
}

/** Longer text is shown as plain text: a hostile peer cannot stall the panel. */
export const maxMarkdownChars = 64 * 1024;
const maxHighlightChars = 32 * 1024;
const safeUrl = /^(?:https?:|mailto:)/i;
/**
 * A link to a file of the workspace, as personas write them: `src/a.ts#L12` or `#L12-L20`. No
 * scheme, no absolute path, no `..`: the extension opens it only inside the workspace.
 */
const fileLink = /^(?![a-z][a-z0-9+.-]*:)(?![/\\])(?!.*\.\.)[\w@./ -]+(?:#L\d+(?:-L?\d+)?)?$/i;
const allowedHref = (url: string) => safeUrl.test(url) || fileLink.test(url);

/** The file and lines of a workspace file link, or undefined for any other link. */
export function parseFileLink(url: string): { path: string; startLine: number; endLine: number } | undefined {
  if (!fileLink.test(url) || safeUrl.test(url)) return undefined;
  const [path = '', fragment = ''] = url.split('#');
  const lines = /^L(\d+)(?:-L?(\d+))?$/.exec(fragment);
  const startLine = lines ? Number(lines[1]) : 1;
  const endLine = lines?.[2] ? Number(lines[2]) : startLine;
  return { path: decodeURI(path.trim()), startLine, endLine: Math.max(startLine, endLine) };
}

const md = new MarkdownIt({ html: false, linkify: true, breaks: true, typographer: false, maxNesting: 20 });
md.validateLink = (url: string) => allowedHref(url.trim());
md.linkify.set({ fuzzyEmail: false });

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

/** Highlighted HTML for code (hljs escapes the source); plain escaped text for unknown languages. */
export function highlight(code: string, language: string): string {
  const lang = language.toLowerCase();
  if (code.length <= maxHighlightChars && lang && hljs.getLanguage(lang)) {
    try {
      return hljs.highlight(code, { language: lang, ignoreIllegals: true }).value;
    } catch {
      // fall through to plain text
    }
  }
  return escapeHtml(code);
}

interface Env {
  blocks?: CodeBlock[];
}

function blocksOf(env: unknown): Env {
  return (env ?? {});
}

function codeBlock(code: string, language: string, env: Env): string {
  env.blocks ??= [];
  // The n-th .code-block of a message is blocks[n]: its source stays here, not in the DOM.
  env.blocks.push({ code, language });
  const label = language ? escapeHtml(language.slice(0, 40)) : 'code';
  return (
    `<div class="code-block"><div class="code-bar"><span class="code-lang">${label}</span>` +
    `<button class="code-action copy">Copy</button><button class="code-action insert">Insert at Cursor</button></div>` +
    `<pre><code class="hljs">${highlight(code, language)}</code></pre></div>\n`
  );
}

md.renderer.rules.fence = (tokens, idx, _options, env) => {
  const token = tokens[idx]!;
  const language = token.info.trim().split(/\s+/, 1)[0] ?? '';
  return codeBlock(token.content, language, blocksOf(env));
};
md.renderer.rules.code_block = (tokens, idx, _options, env) => codeBlock(tokens[idx]!.content, '', blocksOf(env));
// Images would load remote content: show them as links instead.
md.renderer.rules.image = (tokens, idx) => {
  const token = tokens[idx]!;
  const src = String(token.attrGet('src') ?? '');
  const alt = String(token.content || 'image');
  return `<a href="${escapeHtml(src)}">${escapeHtml(`[image: ${alt}]`)}</a>`;
};

const purifyConfig = {
  ALLOWED_TAGS: ['a', 'p', 'br', 'strong', 'em', 's', 'del', 'code', 'pre', 'ul', 'ol', 'li', 'blockquote', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'hr', 'table', 'thead', 'tbody', 'tr', 'th', 'td', 'span', 'div', 'button'],
  ALLOWED_ATTR: ['href', 'title', 'class', 'start'],
  ALLOW_DATA_ATTR: false,
  ALLOWED_URI_REGEXP: /^(?:https?:|mailto:|(?![a-z][a-z0-9+.-]*:)(?![/\\])[\w@./ -])/i,
  KEEP_CONTENT: true,
};

DOMPurify.addHook('afterSanitizeAttributes', (node) => {
  if (node.tagName === 'A') {
    node.setAttribute('rel', 'noopener noreferrer');
    const href = node.getAttribute('href');
    if (href !== null && !allowedHref(href)) node.removeAttribute('href');
    if (href) node.setAttribute('title', href);
  }
});

const cache = new Map<string, Rendered>();
const cacheSize = 400;

/** Sanitised nodes for a message's Markdown (cached: the same text renders once). */
export function renderMarkdown(text: string): Rendered {
  const hit = cache.get(text);
  if (hit) {
    cache.delete(text);
    cache.set(text, hit);
    return hit;
  }
  let rendered: Rendered;
  if (text.length > maxMarkdownChars) {
    const shown = escapeHtml(text.slice(0, maxMarkdownChars));
    const fragment = DOMPurify.sanitize(`<p class="too-long">This message is too long to format; the start is shown as plain text.</p><pre class="plain">${shown}</pre>`, { ...purifyConfig, RETURN_DOM_FRAGMENT: true });
    rendered = { fragment, blocks: [] };
  } else {
    const env: Env = { blocks: [] };
    const raw = md.render(text, env as Record<string, unknown>);
    rendered = { fragment: DOMPurify.sanitize(raw, { ...purifyConfig, RETURN_DOM_FRAGMENT: true }), blocks: env.blocks ?? [] };
  }
  cache.set(text, rendered);
  if (cache.size > cacheSize) cache.delete(cache.keys().next().value!);
  return rendered;
}
