/**
 * NODE_NICE (lib/priority.ts): every thread of the process ends up at the niceness asked for,
 * V8's threads that already run and libuv's pool threads started afterwards. Run in a child
 * process, since a process can't take back a priority it gave up.
 */
import { execFileSync } from "node:child_process";
import path from "node:path";

const child = `
import fs from "node:fs";
import { pbkdf2 } from "node:crypto";
import { setProcessNice } from ${JSON.stringify(path.join(__dirname, "..", "..", "lib", "priority.ts"))};
const failed = setProcessNice(7);
// libuv's pool starts its threads at the first job: after the change.
await new Promise((r) => pbkdf2("p", "s", 1, 8, "sha256", r));
const nice = fs.readdirSync("/proc/self/task").map((t) => {
  const stat = fs.readFileSync("/proc/self/task/" + t + "/stat", "utf8");
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[16]);
});
console.log(JSON.stringify({ failed, nice }));
`;

test("every thread of the process runs at the niceness asked for, pool threads started later too", () => {
  const out = execFileSync(process.execPath, ["--no-warnings", "--input-type=module", "-e", child], {
    encoding: "utf8",
  });
  const { failed, nice } = JSON.parse(out);
  expect(failed).toBe(0);
  // main + V8 platform workers + at least the 4 libuv pool threads
  expect(nice.length).toBeGreaterThanOrEqual(6);
  expect(nice).toEqual(nice.map(() => 7));
});
