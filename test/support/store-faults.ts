/**
 * Fault injection for a service on DbMixin: its Nth write from now on throws, as a store error
 * or a crash between two writes would cut the service's work off there. Writes are
 * `updateOneIf` and `adapter.insert`; everything the service does goes through its own instance,
 * so wrapping the instance catches every write of every action, sweep and channel handler.
 */
export class StoreFaultError extends Error {
  constructor(readonly write: number) {
    super(`injected store fault at write ${write}`);
  }
}

type Write = { filter: any; update?: any; doc?: any };

export interface FaultPlan {
  /** 1-based: the write that throws instead of being made. */
  failAt: number;
  /** Runs before each counted write (not counted itself), e.g. a racing call at a chosen point. */
  before?: (write: Write) => Promise<void> | void;
}

/** Runs `work` with the plan armed; whether the fault fired (false: `work` made fewer writes). */
export async function withStoreFault(
  svc: any,
  plan: FaultPlan,
  work: () => Promise<unknown>,
): Promise<boolean> {
  const updateOneIf = svc.updateOneIf;
  const insert = svc.adapter.insert;
  let count = 0;
  let fired = false;
  let inHook = false;
  const gate = async (write: Write) => {
    if (inHook || fired) return;
    if (plan.before) {
      inHook = true;
      try {
        await plan.before(write);
      } finally {
        inHook = false;
      }
    }
    if (++count === plan.failAt) {
      fired = true;
      throw new StoreFaultError(count);
    }
  };
  svc.updateOneIf = async (filter: any, update: any) => {
    await gate({ filter, update });
    return updateOneIf.call(svc, filter, update);
  };
  svc.adapter.insert = async (doc: any) => {
    await gate({ filter: { _id: doc._id }, doc });
    return insert.call(svc.adapter, doc);
  };
  try {
    await work().catch((err) => {
      if (!(err instanceof StoreFaultError) && !String(err?.message).includes("injected store fault"))
        throw err;
    });
  } finally {
    svc.updateOneIf = updateOneIf;
    svc.adapter.insert = insert;
  }
  return fired;
}
