/**
 * The extension ↔ server methods of personas (protocol/personas.ts) on the server's connection.
 * Each request's params are checked by personaParams (requestHandlers); refusals reach the client
 * as ResponseErrors whose message is one line for the user.
 *
 *   registerPersonaHandlers(connection, async () => (await startedNode()).personas, logger)
 *
 * The folders the client sends are kept and applied to every service the source yields, so a
 * notification sent while the node is still starting is not lost.
 */
import type { Connection, Disposable } from 'vscode-languageserver';
import type { Logger } from '../kernel/log';
import { requestHandlers } from '../kernel/requestHandlers';
import {
  ListPersonasRequest,
  personaParams,
  PersonasChangedNotification,
  PersonaTemplateRequest,
  SetPersonaEnabledRequest,
  SetPersonaFoldersNotification,
  type PersonaFoldersParams,
  type PersonaSummary,
} from '../../../protocol/personas';
import { ServiceError } from '../../../protocol/errors';
import type { PersonaService } from './service';
import { personaTemplate } from './template';

export type PersonaConnection = Pick<Connection, 'onRequest' | 'onNotification' | 'sendNotification'>;
export type PersonaServiceSource = () => PersonaService | undefined | Promise<PersonaService | undefined>;

const unavailable = 'personas are not available: the mesh node has not started (see Persona Mesh: Show Status)';

export function registerPersonaHandlers(connection: PersonaConnection, source: PersonaServiceSource, logger?: Logger): Disposable {
  let attached: PersonaService | undefined;
  let folders: PersonaFoldersParams | undefined;
  const detach: (() => void)[] = [];
  const onChanged = (personas: PersonaSummary[]) => void connection.sendNotification(PersonasChangedNotification.type, personas).catch(() => undefined);

  const attach = async (service: PersonaService) => {
    if (attached === service) return;
    for (const off of detach.splice(0)) off();
    attached = service;
    service.directory.on('changed', onChanged);
    detach.push(() => service.directory.off('changed', onChanged));
    if (folders) await service.registry.setFolders(folders);
  };

  const options = { scope: 'personas', unavailable, ...(logger ? { logger } : {}) };
  const handlers = requestHandlers(connection, {
    ...options,
    // The first request after the node started attaches the notifications (and applies the folders).
    service: async () => {
      const service = await source();
      if (service) await attach(service);
      return service;
    },
  });
  handlers.request0(ListPersonasRequest.type, (service) => service.directory.all());
  handlers.request(SetPersonaEnabledRequest.type, personaParams.setEnabled, (service, p) => {
    const missing = () => new ServiceError('invalid', `there is no local persona "${p.id}"`);
    if (!service.registry.get(p.id)) throw missing();
    service.registry.setEnabled(p.id, p.enabled);
    const summary = service.directory.all().find((s) => s.local && s.id === p.id);
    if (!summary) throw missing();
    return summary;
  });

  // The template and the folders need no started node: their "service" is the source itself.
  const unstarted = requestHandlers(connection, { ...options, service: () => source });
  unstarted.request(PersonaTemplateRequest.type, personaParams.template, (_source, p) => ({ text: personaTemplate(p.id, p.name) }));
  unstarted.notification(SetPersonaFoldersNotification.type, personaParams.setFolders, async (yieldService, p) => {
    folders = p; // kept before the node starts: attach() applies it
    const service = await yieldService();
    if (!service) return;
    if (attached === service) await service.registry.setFolders(folders);
    else await attach(service);
  });

  return {
    dispose: () => {
      handlers.dispose();
      unstarted.dispose();
      for (const off of detach.splice(0)) off();
      attached = undefined;
    },
  };
}
