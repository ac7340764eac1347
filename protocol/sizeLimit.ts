/**
 * How an error says that something is over a limit: both numbers in the limit's own unit, exact,
 * with thousands separators ("16,385 bytes; the limit is 16,384 bytes"). Rounded units misled:
 * "16.0 KiB; the limit is 16 KiB" reads as within the limit.
 */
const counts = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** A whole number with thousands separators, the same on every machine: "16,384". */
export function formatCount(value: number): string {
  return counts.format(value);
}

/** "16,385 bytes; the limit is 16,384 bytes" (or another unit, e.g. characters). */
export function overLimit(size: number, limit: number, unit = 'bytes'): string {
  return `${formatCount(size)} ${unit}; the limit is ${formatCount(limit)} ${unit}`;
}
