/** The commented persona file the "New Persona" command writes (it parses without problems). */
import { personaIdPattern } from './schema';

export function personaTemplate(id: string, name: string): string {
  const safeId = personaIdPattern.test(id) ? id : 'my-persona';
  const safeName = name.replace(/[\r\n]+/g, ' ').trim() || safeId;
  return `---
# A persona of the mesh. Hover a key for what it does; completion (Ctrl+Space) lists the others.
id: ${safeId}
name: ${JSON.stringify(safeName)}
description: What this persona is good at, in one line.
# The brain that writes the replies: librarian (no model, answers from the workspace),
# openai (an OpenAI-compatible endpoint), llama (a local GGUF model) or vscode-lm.
brain:
  provider: librarian
capabilities:
  - docs
# Words or /regular expressions/ that make the persona offer to answer without a mention.
triggers:
  - how do I
# Rooms it joins, each with a role: expert, learner, moderator, observer or member.
rooms:
  general: expert
participation:
  mentionsOnly: false
  maxRepliesPerMinute: 6
  cooldownSeconds: 5
  maxChainDepth: 2
---
You are ${safeName}, a member of this team's chat rooms.

Answer briefly and precisely. When you quote the workspace, give the file and line.
`;
}
