/**
 * The extension ↔ server methods of personas (protocol/personas.ts) on the server's connection.
 *
 *   registerPersonaHandlers(connection, async () => (await startedNode()).personas, logger)
 *
 * The folders the client sends are kept and applied to every service the source yields, so a
 * notification sent while the node is still starting is not lost.
 */
import { ErrorCodes, ResponseError, type Connection, type Disposable } from 'vscode-languageserver';
import { describeError } from '../kernel/lifecycle';
import type { Logger } from '../kernel/log';
import {
  ListPersonasRequest,
  PersonasChangedNotification,
  PersonaTemplateRequest,
  SetPersonaEnabledRequest,
  SetPersonaFoldersNotification,
  type PersonaFoldersParams,
  type PersonaSummary,
} from '../../../protocol/personas';
import type { PersonaService } from './service';
import { personaTemplate } from './template';

export type PersonaConnection = Pick<Connection, 'onRequest' | 'onNotification' | 'sendNotification'>;
export type PersonaServiceSource = () => PersonaService | undefined | Promise<PersonaService | undefined>;

const unavailable = 'personas are not available: the mesh node has not started (see Persona Mesh: Show Status)';

function invalid(message: string): ResponseError<void> {
  return new ResponseError(ErrorCodes.InvalidParams, message);
}

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

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

  const resolve = async (): Promise<PersonaService> => {
    const service = await source();
    if (!service) throw new ResponseError(ErrorCodes.InternalError, unavailable);
    await attach(service);
    return service;
  };

  // Refusals are ResponseErrors thrown on purpose; anything else is a failure of this node.
  const handle = <P, R>(run: (service: PersonaService, params: P) => R | Promise<R>) => {
    return async (value: P): Promise<R> => {
      try {
        return await run(await resolve(), value);
      } catch (error) {
        if (error instanceof ResponseError) throw error;
        logger?.error(`persona request failed: ${describeError(error)}`);
        throw new ResponseError(ErrorCodes.InternalError, `personas: ${describeError(error).split('\n')[0]!}`.slice(0, 500));
      }
    };
  };

  const disposables: Disposable[] = [
    connection.onRequest(ListPersonasRequest.type, handle((service) => service.directory.all())),
    connection.onRequest(
      SetPersonaEnabledRequest.type,
      handle((service, p) => {
        const { id, enabled } = (p ?? {}) as { id?: unknown; enabled?: unknown };
        if (typeof id !== 'string') throw invalid('id must be text');
        if (!service.registry.get(id)) throw invalid(`there is no local persona "${id.slice(0, 100)}"`);
        service.registry.setEnabled(id, enabled !== false);
        const summary = service.directory.all().find((s) => s.local && s.id === id);
        if (!summary) throw invalid(`there is no local persona "${id.slice(0, 100)}"`);
        return summary;
      }),
    ),
    connection.onRequest(PersonaTemplateRequest.type, (p) => {
      const { id, name } = (p ?? {}) as { id?: unknown; name?: unknown };
      return { text: personaTemplate(typeof id === 'string' ? id : '', typeof name === 'string' ? name : '') };
    }),
    connection.onNotification(SetPersonaFoldersNotification.type, (p) => {
      folders = { workspaceFolders: stringList(p?.workspaceFolders), extraFolders: stringList(p?.extraFolders) };
      void (async () => {
        const service = await source();
        if (!service) return;
        if (attached === service) await service.registry.setFolders(folders);
        else await attach(service);
      })().catch((error: unknown) => logger?.error(`applying persona folders failed: ${describeError(error)}`));
    }),
  ];

  return {
    dispose: () => {
      for (const off of detach.splice(0)) off();
      for (const d of disposables) d.dispose();
    },
  };
}
