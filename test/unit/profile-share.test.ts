import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { profileShare } from "../../bench/profile-share";

describe("profileShare (bench)", () => {
  // (root) > (idle) 50; (root) > main 10 > [score 20 > score 5 (nested: counted once), other 15];
  // (root) > post 40 (the profiler stopping, node:inspector) > score 30: neither busy nor inside
  const profile = {
    nodes: [
      { id: 1, callFrame: { functionName: "(root)" }, children: [2, 3, 7] },
      { id: 2, callFrame: { functionName: "(idle)" } },
      { id: 3, callFrame: { functionName: "main" }, children: [4, 6] },
      { id: 4, callFrame: { functionName: "score" }, children: [5] },
      { id: 5, callFrame: { functionName: "score" } },
      { id: 6, callFrame: { functionName: "other" } },
      { id: 7, callFrame: { functionName: "post", url: "node:inspector" }, children: [8] },
      { id: 8, callFrame: { functionName: "score" } },
    ],
    samples: [2, 3, 4, 5, 6, 7, 8],
    timeDeltas: [50, 10, 20, 5, 15, 40, 30],
  };

  it("should count the functions' time with their callees once, against the busy time", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "profile-share-"));
    try {
      fs.writeFileSync(path.join(dir, "with-1.cpuprofile"), JSON.stringify(profile));
      fs.writeFileSync(path.join(dir, "without-2.cpuprofile"), JSON.stringify(profile));
      const got = profileShare(dir, "with-", ["score"]);
      expect(got).toEqual({ busyUs: 50, insideUs: 25, share: 0.5 });
      expect(profileShare(dir, "with-", ["nothing"]).insideUs).toBe(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
