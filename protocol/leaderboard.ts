/**
 * The Leaderboard view's webview ↔ extension messages (postMessage), one union each way. The
 * extension asks the node (mesh/academy/leaderboard, mesh/academy/signals) and passes the answers on.
 */
import type { Leaderboard, Signal, SignalCategory } from './academy';

/** extension → webview */
export type ToLeaderboard =
  | {
      type: 'board';
      /** `undefined`: every category together. */
      category?: SignalCategory;
      board: Leaderboard;
      /** Persona key → its ranking score (lower bound) one trend window ago; absent: no signals then. */
      previous: Record<string, number>;
      /** The trend window in days. */
      trendDays: number;
    }
  | { type: 'signals'; persona: string; name: string; category?: SignalCategory; signals: Signal[] }
  | { type: 'error'; message: string };

/** webview → extension */
export type FromLeaderboard =
  /** Sent at start and when the user picks a category: answered with a board. */
  | { type: 'category'; category?: SignalCategory }
  | { type: 'signals'; persona: string; name: string; category?: SignalCategory };

/** What the webview keeps across hide/show (getState/setState). */
export interface LeaderboardState {
  category?: SignalCategory;
  /** The persona whose signals are shown. */
  selected?: { persona: string; name: string };
}
