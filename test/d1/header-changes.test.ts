import { describe, expect, it } from "vitest";
import { d1TestDirs } from "./helpers.ts";

const { open } = d1TestDirs();

/**
 * A PRAGMA that sets a version in the file's header changes the database without changing a row:
 * D1's `changed_db` is true when anything on the database changed, and a commit that changes it
 * advances the bookmark.
 */
describe("a change to the header alone", () => {
  it("PRAGMA user_version = N: changed_db is true and the session's bookmark advances; reading it changes nothing", async () => {
    const db = open();
    const session = db.withSession("first-primary");
    await session.prepare("SELECT 1").first();
    const before = session.getBookmark()!;

    const set = await session.prepare("PRAGMA user_version = 7").run();
    expect(set.meta).toMatchObject({ changed_db: true, changes: 0 });
    const afterSet = session.getBookmark()!;
    expect(afterSet > before).toBe(true);

    const read = await session.prepare("PRAGMA user_version").all();
    expect(read.results).toEqual([{ user_version: 7 }]);
    expect(read.meta.changed_db).toBe(false);
    expect(session.getBookmark()).toBe(afterSet);
  });

  it("in a batch and in exec (PRAGMA application_id): the bookmark advances", async () => {
    const db = open();
    const session = db.withSession("first-primary");
    await session.prepare("SELECT 1").first();
    const first = session.getBookmark()!;
    const [result] = await session.batch([session.prepare("PRAGMA application_id = 42")]);
    expect(result!.meta.changed_db).toBe(true);
    const second = session.getBookmark()!;
    expect(second > first).toBe(true);

    await db.exec("PRAGMA user_version = 3");
    await session.prepare("SELECT 1").first();
    expect(session.getBookmark()! > second).toBe(true);
    expect(await db.prepare("SELECT * FROM pragma_application_id(), pragma_user_version()").first()).toEqual({ application_id: 42, user_version: 3 });
  });
});
