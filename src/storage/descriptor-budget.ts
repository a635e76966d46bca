import { readdirSync, readFileSync, statSync } from "node:fs";

/** The process's soft limit on open files (Linux: /proc/self/limits); undefined where unknown or unlimited. */
export const DESCRIPTOR_LIMIT: number | undefined = readLimit();

/**
 * Descriptors kept free for what opens between two looks (a second apart): new sockets, settles, a
 * burst of agents starting. With 15 % of 20,000, runs of 5,000 → 7,500 WebSocket users still ran out
 * while the users connected (the burst was not found); a quarter leaves ~4,000 connections to 7,500
 * sockets, what the fixed fifth gave, and all 5,000 to 5,000.
 */
const MARGIN = Math.max(256, Math.floor((DESCRIPTOR_LIMIT ?? 0) / 4));

/**
 * The cap on open SQLite connections that fills what the descriptor limit leaves once everything
 * else the process holds (sockets above all) is counted: each connection holds two descriptors (the
 * database and its -wal), and `ours` connections hold theirs now. Undefined where the process's
 * descriptors cannot be counted (not Linux). Several threads each computing it share the room: each
 * counts the others' connections as taken.
 * @example
 * capFromDescriptors(3_000); // 20,000 allowed, 7,600 held by sockets and 6,000 by ours → 3,700
 */
export function capFromDescriptors(ours: number): number | undefined {
  if (DESCRIPTOR_LIMIT === undefined) return undefined;
  const held = descriptorsHeld();
  if (held === undefined) return undefined;
  const others = Math.max(0, held - 2 * ours);
  return Math.max(64, Math.floor((DESCRIPTOR_LIMIT - others - MARGIN) / 2));
}

/**
 * Descriptors the process holds: Linux 6.2+ gives the count as the size of /proc/self/fd (~40 µs);
 * before, the directory is read (10–20 ms at 15,000 descriptors).
 */
function descriptorsHeld(): number | undefined {
  try {
    const size = statSync("/proc/self/fd").size;
    return size > 0 ? size : readdirSync("/proc/self/fd").length;
  } catch {
    return undefined;
  }
}

function readLimit(): number | undefined {
  try {
    const line = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync("/proc/self/limits", "utf8"));
    return line === null || line[1] === "unlimited" ? undefined : Number(line[1]);
  } catch {
    return undefined;
  }
}
