/** A node id: base32 (RFC 4648 alphabet, no padding) of a SHA-256, 52 characters. */
export const NODE_ID = /^[A-Z2-7]{52}$/;

/** The id as shown to people: groups of 7 joined by '-' (7 groups of 7, then one of 3). */
export const GROUPED_NODE_ID = /(?<![A-Z2-7-])[A-Z2-7]{7}(?:-[A-Z2-7]{7}){6}-[A-Z2-7]{3}(?![A-Z2-7-])/;

const PLAIN_NODE_ID = /(?<![A-Z2-7])[A-Z2-7]{52}(?![A-Z2-7])/;

/** The first node id in text, grouped or not, returned ungrouped; undefined when there is none. */
export function findNodeId(text: string): string | undefined {
  const grouped = GROUPED_NODE_ID.exec(text);
  if (grouped) return grouped[0].replaceAll('-', '');
  return PLAIN_NODE_ID.exec(text)?.[0];
}
