/**
 * The local personas the user disabled, kept in the node's database (`node_meta`) so the choice
 * outlives a restart of VS Code or of the node, like a disabled extension.
 */
import type { Logger } from '../kernel/log';
import type { Store } from '../store/database';
import { readNodeMeta, writeNodeMeta } from '../store/nodeMeta';

export interface DisabledPersonas {
  load(): string[];
  save(ids: readonly string[]): void;
}

const key = 'personas.disabled';

export function disabledPersonasIn(store: Store, logger: Logger): DisabledPersonas {
  return {
    load() {
      const value = readNodeMeta(store.db, key);
      if (value === undefined) return [];
      try {
        const ids: unknown = JSON.parse(value);
        if (Array.isArray(ids) && ids.every((id) => typeof id === 'string')) return ids;
      } catch {
        // Reported below with the value.
      }
      logger.warn(`the list of disabled personas in the database is unreadable (${value.slice(0, 80)}); every persona starts enabled`);
      return [];
    },
    save(ids) {
      writeNodeMeta(store.db, key, JSON.stringify([...ids].sort()));
    },
  };
}
