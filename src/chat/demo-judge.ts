/**
 * The demo model's judging rule: after a `Candidates:` line, the listed answers (`1.`, `2)`, `[3]`,
 * `Candidate 4:`, or `-` bullets; an item runs until the next marker); the best is the one sharing
 * most key words with the question (the text before the list), then the longest, then the first.
 */
import { keywords, matching } from "./demo-text.ts";

export interface DemoCandidate {
  /** Its number in the list (explicit, or its position from 1). */
  number: number;
  text: string;
}

export interface DemoJudgement {
  best: DemoCandidate;
  /** Position of the best in the list, from 0. */
  index: number;
  /** One sentence. */
  reason: string;
}

const HEADER = /^[ \t]*(?:candidates|candidate answers|answers to compare)[ \t]*:[ \t]*$/im;
const MARKER = /^[ \t]*(?:(?:candidate|answer|option)[ \t]*#?(\d+)[ \t]*[:.)-]|(\d+)[.)]|\[(\d+)\]|[-*•])[ \t]*(.*)$/i;

/** The candidates a text lists after its `Candidates:` line, and the text before it; undefined for fewer than two. */
export function listedCandidates(text: string): { candidates: DemoCandidate[]; before: string } | undefined {
  const header = HEADER.exec(text);
  if (!header) return undefined;
  const lines = text.slice(header.index + header[0].length).split("\n");
  const candidates: DemoCandidate[] = [];
  let blank = false;
  for (const line of lines) {
    const marker = MARKER.exec(line);
    if (marker) {
      const explicit = marker[1] ?? marker[2] ?? marker[3];
      candidates.push({ number: explicit === undefined ? candidates.length + 1 : Number(explicit), text: (marker[4] ?? "").trim() });
      blank = false;
    } else if (line.trim() === "") {
      blank = true;
    } else if (candidates.length > 0 && !blank) {
      const last = candidates.at(-1)!;
      last.text = `${last.text}\n${line.trim()}`.trim();
    } else if (candidates.length > 0) {
      break; // text after a blank line that starts no item: the list is over
    }
  }
  return candidates.length >= 2 ? { candidates, before: text.slice(0, header.index).trim() } : undefined;
}

/** Picks the best candidate for `question`, deterministically, and says why in one sentence. */
export function judge(question: string, candidates: readonly DemoCandidate[]): DemoJudgement {
  const asked = keywords(question);
  const scored = candidates.map((candidate, index) => ({ candidate, index, covered: matching(asked, keywords(candidate.text)).length }));
  const ranked = [...scored].sort((a, b) => b.covered - a.covered || b.candidate.text.length - a.candidate.text.length || a.index - b.index);
  const top = ranked[0]!;
  const tied = ranked.filter((entry) => entry.covered === top.covered).length > 1;
  const name = `Candidate ${top.candidate.number}`;
  let reason: string;
  if (top.covered === 0) reason = `${name} wins because no candidate shares key words with the question and it is the longest.`;
  else if (tied) reason = `${name} covers ${top.covered} of the ${asked.length} key words of the question, as many as any other, and is the longest.`;
  else reason = `${name} covers ${top.covered} of the ${asked.length} key words of the question, more than any other.`;
  return { best: top.candidate, index: top.index, reason };
}
