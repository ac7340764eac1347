/**
 * Evolution: a persona whose score falls, or that is asked for a capability it lacks, tries a
 * genome from the mesh, is measured against its previous window and keeps or drops it. Types of
 * the events nodes share and of the client methods, declared once here.
 */
import { NotificationType, RequestType, RequestType0 } from 'vscode-languageserver-protocol';
import type { PersonaRef, SignalCategory } from './academy';
import { object, oneOf } from './check';

export const evolutionPolicies = ['ask', 'automatic', 'off'] as const;
export type EvolutionPolicy = (typeof evolutionPolicies)[number];

export type EvolutionTrigger =
  /** The mean of the last `window` signals in `category` fell below the threshold. */
  | { kind: 'falling-score'; category: SignalCategory; mean: number; count: number }
  /** A message to the persona asked for a capability it does not have. */
  | { kind: 'capability-gap'; capability: string; messageId: string; roomId: string };

export type EvolutionOutcome = 'adopted' | 'kept' | 'rolled-back' | 'declined' | 'failed';

/** One step of a persona's lineage, as every node on the mesh records it. */
export interface PersonaEvolutionEvent {
  /** Unique: `{nodeId}/{personaId}/{trialId}/{outcome}`. */
  id: string;
  persona: PersonaRef;
  trialId: string;
  trigger: EvolutionTrigger;
  genome: { id: string; name: string; capabilities: string[] };
  capabilitiesBefore: string[];
  capabilitiesAfter: string[];
  outcome: EvolutionOutcome;
  /** The category measured, the mean over the window before, and after (once measured). */
  measured: { category: SignalCategory; before: number; beforeCount: number; after?: number; afterCount?: number };
  reason?: string;
  ts: number;
}

export const evolutionTopic = '/academy/evolution';

export interface EvolutionProposal {
  personaId: string;
  personaName: string;
  genome: { id: string; name: string; capabilities: string[] };
  /** One line: why the persona should evolve. */
  reason: string;
}

/** server → client (policy `ask`): may the persona adopt this genome? The client asks the user. */
export namespace EvolutionProposalRequest {
  export const method = 'mesh/evolution/propose';
  export const type = new RequestType<EvolutionProposal, { adopt: boolean }, void>(method);
}

/** client → server: `personaMesh.evolution.policy` at start and when it changes. */
export namespace SetEvolutionPolicyNotification {
  export const method = 'mesh/evolution/setPolicy';
  export const type = new NotificationType<{ policy: EvolutionPolicy }>(method);
}

export const evolutionParams = {
  setPolicy: object({ policy: oneOf(evolutionPolicies) }, { policy: 'the evolution policy' }),
};

/** client → server: the lineage this node knows (every persona's evolution events, newest first). */
export namespace EvolutionHistoryRequest {
  export const method = 'mesh/evolution/history';
  export const type = new RequestType0<PersonaEvolutionEvent[], void>(method);
}

/** server → client: an evolution event happened (here or on the mesh). */
export namespace EvolutionEventNotification {
  export const method = 'mesh/evolution/event';
  export const type = new NotificationType<PersonaEvolutionEvent>(method);
}
