import fs from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { keepDatafileOpen } from "../../lib/nedb-datafile";

const Datastore = createRequire(require.resolve("moleculer-db"))("@seald-io/nedb");

describe("an NeDB datafile kept open", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nedb-datafile-"));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const open = async (filename: string) => {
    const db = new Datastore({ filename });
    await db.loadDatabaseAsync();
    return db;
  };

  it("should keep every write, before and after a compaction, for the next process that loads the file", async () => {
    const filename = path.join(dir, "things.db");
    const db = await open(filename);
    const close = keepDatafileOpen(db);
    await db.insertAsync({ _id: "a", n: 1 });
    await db.insertAsync({ _id: "gone", n: 0 });
    // The compaction renames a new file over the old one: later writes must reach the new one.
    await db.compactDatafileAsync();
    await db.insertAsync({ _id: "b", n: 2 });
    await db.updateAsync({ _id: "a" }, { $set: { n: 10 } });
    await db.removeAsync({ _id: "gone" });
    close();

    const reloaded = await open(filename);
    expect(await reloaded.findAsync({}).sort({ _id: 1 })).toEqual([
      { _id: "a", n: 10 },
      { _id: "b", n: 2 },
    ]);
  });

  it("should write one line per change, as NeDB's own appends do", async () => {
    const filename = path.join(dir, "lines.db");
    const db = await open(filename);
    const close = keepDatafileOpen(db);
    await db.insertAsync([{ _id: "x" }, { _id: "y" }]);
    await db.updateAsync({}, { $set: { seen: true } }, { multi: true });
    close();
    const lines = fs.readFileSync(filename, "utf8").trim().split("\n");
    expect(lines.map((l) => JSON.parse(l))).toEqual([
      { _id: "x" },
      { _id: "y" },
      { _id: "x", seen: true },
      { _id: "y", seen: true },
    ]);
  });
});
