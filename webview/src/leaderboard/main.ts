/**
 * The Leaderboard view: personas ranked per category with score, count, lower bound, ratings,
 * latency and trend; a persona's name opens the signals behind its score. Plain DOM, every text
 * set with textContent (persona names and signal contexts come from other nodes).
 */
import { signalCategories, type PersonaScores, type Signal, type SignalCategory } from '../../../protocol/academy';
import type { FromLeaderboard, LeaderboardState, ToLeaderboard } from '../../../protocol/leaderboard';

interface VsCodeApi {
  postMessage(message: FromLeaderboard): void;
  getState(): LeaderboardState | undefined;
  setState(state: LeaderboardState): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const app = document.getElementById('app')!;
let state: LeaderboardState = vscode.getState() ?? {};
let lastBoard: Extract<ToLeaderboard, { type: 'board' }> | undefined;
let lastSignals: Extract<ToLeaderboard, { type: 'signals' }> | undefined;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: { className?: string; text?: string; title?: string } = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (props.className) node.className = props.className;
  if (props.text !== undefined) node.textContent = props.text;
  if (props.title) node.title = props.title;
  node.append(...children);
  return node;
}

function save(next: LeaderboardState): void {
  state = next;
  vscode.setState(state);
}

function signed(value: number, digits = 2): string {
  return `${value > 0 ? '+' : ''}${value.toFixed(digits)}`;
}

function scoreOf(persona: PersonaScores, category: SignalCategory | undefined) {
  return category ? persona.categories[category] : persona.overall;
}

function categorySelect(): HTMLSelectElement {
  const select = el('select', { title: 'Category' });
  select.id = 'category';
  select.setAttribute('aria-label', 'Category');
  for (const value of ['', ...signalCategories]) {
    const option = el('option', { text: value === '' ? 'All categories' : value[0]!.toUpperCase() + value.slice(1) });
    option.value = value;
    option.selected = (state.category ?? '') === value;
    select.append(option);
  }
  select.addEventListener('change', () => {
    const category = (select.value || undefined) as SignalCategory | undefined;
    save({ ...state, category });
    vscode.postMessage({ type: 'category', ...(category ? { category } : {}) });
    if (state.selected) vscode.postMessage({ type: 'signals', persona: state.selected.persona, name: state.selected.name, ...(category ? { category } : {}) });
  });
  return select;
}

function trendCell(persona: PersonaScores, board: Extract<ToLeaderboard, { type: 'board' }>): HTMLTableCellElement {
  const now = scoreOf(persona, board.category)?.lowerBound;
  const before = board.previous[persona.key];
  const cell = el('td', { className: 'num' });
  if (now === undefined) return cell;
  if (before === undefined) {
    cell.append(el('span', { className: 'muted', text: 'new', title: `No signals before the last ${board.trendDays} days` }));
    return cell;
  }
  const delta = now - before;
  const arrow = Math.abs(delta) < 0.005 ? '→' : delta > 0 ? '▲' : '▼';
  cell.append(el('span', { className: Math.abs(delta) < 0.005 ? 'muted' : delta > 0 ? 'up' : 'down', text: `${arrow} ${signed(delta)}`, title: `Lower bound ${before.toFixed(2)} ${board.trendDays} days ago` }));
  return cell;
}

function renderBoard(board: Extract<ToLeaderboard, { type: 'board' }>): HTMLElement {
  const rows = board.board.personas.filter((p) => scoreOf(p, board.category) !== undefined || p.games > 0);
  const section = el('section');
  if (rows.length === 0) {
    section.append(el('p', { className: 'muted', text: 'No ratings yet. Rate persona answers in the chat (👍/👎) or review code with a persona; scores appear here.' }));
    return section;
  }
  const table = el('table');
  table.setAttribute('aria-label', 'Personas ranked');
  // In a narrow side bar the `secondary` columns give way to a line under the persona's name.
  const head = el(
    'tr',
    {},
    el('th', { text: '#', className: 'num secondary' }),
    el('th', { text: 'Persona' }),
    el('th', { text: 'Score', className: 'num secondary', title: 'Decayed mean of the signals, -1 … 1, with their count' }),
    el('th', { text: 'Lower bound', className: 'num', title: 'What ranks: a 95% lower confidence bound, so 2 votes never beat 200' }),
    el('th', { text: 'Rating', className: 'num secondary', title: 'Bradley-Terry rating (Elo scale) / live Elo, from pairwise results' }),
    el('th', { text: 'Latency', className: 'num secondary', title: 'Reply time p50 / p95' }),
    el('th', { text: 'Trend', className: 'num' }),
  );
  table.append(el('thead', {}, head));
  const body = el('tbody');
  for (const [i, persona] of rows.entries()) {
    const score = scoreOf(persona, board.category);
    const name = el('button', { className: 'link', text: persona.persona.name, title: `Signals behind ${persona.persona.name}'s score (node ${persona.persona.nodeId.slice(0, 7)})` });
    name.dataset['focusKey'] = persona.key;
    name.addEventListener('click', () => {
      save({ ...state, selected: { persona: persona.key, name: persona.persona.name } });
      // The category chosen now, even if this row is still from the board shown before the choice.
      vscode.postMessage({ type: 'signals', persona: persona.key, name: persona.persona.name, ...(state.category ? { category: state.category } : {}) });
    });
    const scoreText = score ? `${signed(score.mean)} (${score.count})` : '—';
    const ratingText = persona.games > 0 ? `${Math.round(persona.rating)} / ${Math.round(persona.elo)}` : '—';
    const latencyText = persona.latency ? `${formatMs(persona.latency.p50Ms)} / ${formatMs(persona.latency.p95Ms)}` : '—';
    const details = el('div', { className: 'details muted', text: `#${i + 1} · score ${scoreText} · rating ${ratingText} · latency ${latencyText}` });
    const row = el(
      'tr',
      {},
      el('td', { className: 'num secondary', text: String(i + 1) }),
      el('td', {}, name, details),
      el('td', { className: 'num secondary', text: scoreText }),
      el('td', { className: 'num', text: score ? signed(score.lowerBound) : '—' }),
      el('td', { className: 'num secondary', text: ratingText, title: `${persona.games} pairwise result(s)` }),
      el('td', { className: 'num secondary', text: latencyText }),
      trendCell(persona, board),
    );
    row.dataset['persona'] = persona.key;
    body.append(row);
  }
  table.append(body);
  section.append(table, el('p', { className: 'muted', text: `${board.board.signalCount} signal(s).` }));
  return section;
}

function formatMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}

function renderSignals(view: Extract<ToLeaderboard, { type: 'signals' }>): HTMLElement {
  const section = el('section');
  section.setAttribute('aria-label', `Signals behind ${view.name}'s score`);
  const back = el('button', { text: '← All personas' });
  back.addEventListener('click', () => {
    save({ ...state, selected: undefined });
    lastSignals = undefined;
    render();
  });
  section.append(el('div', { className: 'bar' }, back, el('strong', { text: `${view.name}: ${view.signals.length} signal(s)${view.category ? ` in ${view.category}` : ''}` })));
  const list = el('ul', { className: 'signals' });
  for (const signal of view.signals) list.append(signalItem(signal));
  if (view.signals.length === 0) list.append(el('li', { className: 'muted', text: 'No signals.' }));
  section.append(list);
  queueMicrotask(() => back.focus());
  return section;
}

function signalItem(signal: Signal): HTMLLIElement {
  const value = el('span', { className: signal.value > 0 ? 'up' : signal.value < 0 ? 'down' : 'muted', text: signed(signal.value, signal.value % 1 === 0 ? 0 : 2) });
  const item = el('li', {}, value, ` ${signal.source} · ${signal.category} · ${new Date(signal.ts).toLocaleString()}${signal.withdrawn ? ' · withdrawn' : ''}`);
  item.dataset['source'] = signal.source;
  if (signal.reason) item.append(el('div', { text: signal.reason }));
  const context = signal.context.actual ?? signal.context.input;
  if (context) item.append(el('div', { className: 'context muted', text: context }));
  return item;
}

function render(): void {
  // Live refreshes replace the DOM: keep keyboard focus where it was.
  const active = document.activeElement as HTMLElement | null;
  const focusKey = active?.id === 'category' ? 'category' : active?.dataset['focusKey'];
  const bar = el('div', { className: 'bar' }, el('label', { text: 'Category ' }), categorySelect());
  (bar.firstChild as HTMLLabelElement).htmlFor = 'category';
  const content = lastSignals && state.selected?.persona === lastSignals.persona ? renderSignals(lastSignals) : lastBoard ? renderBoard(lastBoard) : el('p', { className: 'muted', text: 'Loading…' });
  app.replaceChildren(bar, content);
  if (focusKey === 'category') document.getElementById('category')?.focus();
  else if (focusKey) [...app.querySelectorAll<HTMLElement>('[data-focus-key]')].find((node) => node.dataset['focusKey'] === focusKey)?.focus();
}

window.addEventListener('message', (event: MessageEvent<ToLeaderboard>) => {
  const message = event.data;
  if (message.type === 'board') {
    if ((message.category ?? '') !== (state.category ?? '')) return;
    lastBoard = message;
    // A new board means new signals: the open signal list is fetched again too.
    if (state.selected) vscode.postMessage({ type: 'signals', persona: state.selected.persona, name: state.selected.name, ...(state.category ? { category: state.category } : {}) });
    else render();
  } else if (message.type === 'signals') {
    if (state.selected?.persona !== message.persona) return;
    lastSignals = message;
    render();
  } else if (message.type === 'error') {
    app.replaceChildren(el('p', { className: 'error', text: message.message }));
  }
});

render();
vscode.postMessage({ type: 'category', ...(state.category ? { category: state.category } : {}) });
