import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ServiceBroker } from "moleculer";
import { publish } from "../../lib/channels";
import { reloadConfig } from "../../lib/config";
import { brokerOptions } from "../../moleculer.config";
import { checkAdjustment } from "../../domain/inventory";

const ADMIN = { meta: { user: { id: "admin-1", role: "admin" as const } } };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("stock adjustments from the inventory.adjust channel", () => {
  let broker: ServiceBroker;
  const level = async (productId: string) =>
    ((await broker.call("inventory.get", { productId })) as any).available;
  const adjust = async (payload: object) => {
    await publish(broker, "inventory.adjust", payload);
    await sleep(50);
  };

  beforeAll(async () => {
    process.env.DATA_DIR = fs.mkdtempSync(path.join(os.tmpdir(), "inventory-adjust-"));
    broker = new ServiceBroker({ ...brokerOptions(reloadConfig()), logger: false });
    broker.createService(require("../../services/inventory.service").default);
    await broker.start();
    await broker.call("inventory.init", { productId: "p1", available: 10 }, ADMIN);
  });
  afterAll(() => broker.stop());

  it("should add and take units, each adjustment once however often it arrives", async () => {
    await adjust({ adjustmentId: "adj-1", productId: "p1", delta: 5 });
    await adjust({ adjustmentId: "adj-1", productId: "p1", delta: 5 });
    expect(await level("p1")).toBe(15);
    await adjust({ adjustmentId: "adj-2", productId: "p1", delta: -4 });
    expect(await level("p1")).toBe(11);
  });

  it("should never take available below zero", async () => {
    await adjust({ adjustmentId: "adj-3", productId: "p1", delta: -100 });
    expect(await level("p1")).toBe(11);
  });

  it("should name what is wrong with a malformed adjustment", () => {
    expect(checkAdjustment({ productId: "p1", delta: 1 })).toMatch(/adjustmentId/);
    expect(checkAdjustment({ adjustmentId: "a", delta: 1 })).toMatch(/productId/);
    expect(checkAdjustment({ adjustmentId: "a", productId: "p1", delta: 1.5 })).toMatch(/delta/);
    expect(checkAdjustment({ adjustmentId: "a", productId: "p1", delta: 2 })).toBeNull();
  });
});
