import { pipeline } from "node:stream/promises";
import { Writable } from "node:stream";
import type pg from "pg";
import { to as copyTo } from "pg-copy-streams";
import { checkout, closeConnection, QueryTimeoutError, queryTimeoutOf } from "./pool.ts";

/**
 * Runs `select` as `COPY (…) TO STDOUT (FORMAT binary)` and answers its rows as raw field bytes (null
 * for SQL NULL). node-postgres decodes every field of an ordinary result as text, so a bytea comes as
 * hex (twice its size, decoded in JS) and binary results come back corrupted; COPY's binary format
 * carries the bytes as they are (docs/benchmarks.md, restore). `select` takes no parameters: quote
 * values with {@link quoteLiteral}. Postgres silent for the pool's query bound (before the first bytes
 * or between two) fails the read with a {@link QueryTimeoutError} and closes the connection.
 * @example
 * const rows = await copyRows(pool, `SELECT image FROM t WHERE id = ${quoteLiteral(id)}`);
 * const image = rows[0]?.[0]; // a Buffer
 */
export async function copyRows(pool: pg.Pool, select: string): Promise<Array<Array<Buffer | null>>> {
  const client = await checkout(pool);
  const timeoutMs = queryTimeoutOf(pool);
  let failed: unknown;
  let silence: ReturnType<typeof setTimeout> | undefined;
  try {
    const chunks: Buffer[] = [];
    const source = client.query(copyTo(`COPY (${select}) TO STDOUT (FORMAT binary)`));
    const expectMore = (): void => {
      clearTimeout(silence);
      silence = setTimeout(() => {
        closeConnection(client);
        source.destroy(new QueryTimeoutError(timeoutMs, "send the next rows of a COPY"));
      }, timeoutMs);
    };
    expectMore();
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        expectMore();
        chunks.push(chunk);
        done();
      },
    });
    await pipeline(source, sink);
    return parseBinaryCopy(Buffer.concat(chunks));
  } catch (error) {
    failed = error;
    throw error;
  } finally {
    clearTimeout(silence);
    client.release(failed instanceof Error && !("code" in failed) ? failed : undefined);
  }
}

/** A string as an escape-string SQL literal (`E'…'`: the same whatever standard_conforming_strings says). */
export function quoteLiteral(value: string): string {
  if (value.includes("\0")) throw new Error("a SQL literal cannot hold NUL");
  return `E'${value.replaceAll("\\", "\\\\").replaceAll("'", "''")}'`;
}

const SIGNATURE = Buffer.from("PGCOPY\n\xff\r\n\0", "latin1");

/** The tuples of a binary COPY stream: a header, then per row a field count and each field's length and bytes. */
export function parseBinaryCopy(data: Buffer): Array<Array<Buffer | null>> {
  if (data.length < SIGNATURE.length + 8 || !data.subarray(0, SIGNATURE.length).equals(SIGNATURE)) {
    throw new Error("not a binary COPY stream (its signature is missing)");
  }
  let offset = SIGNATURE.length + 4; // the flags field
  offset += 4 + data.readUInt32BE(offset); // the header extension
  const rows: Array<Array<Buffer | null>> = [];
  for (;;) {
    const fields = data.readInt16BE(offset);
    offset += 2;
    if (fields === -1) return rows;
    const row: Array<Buffer | null> = [];
    for (let i = 0; i < fields; i++) {
      const length = data.readInt32BE(offset);
      offset += 4;
      if (length === -1) row.push(null);
      else {
        row.push(data.subarray(offset, offset + length));
        offset += length;
      }
    }
    rows.push(row);
  }
}
