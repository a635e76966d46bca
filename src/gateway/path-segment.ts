/** Clients that do not encode names (e.g. "100%") still reach their agent: bad escapes stay as typed. */
export function decodePathSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
