/**
 * Pushgateway sink: each cycle PUTs this node's whole group, so a series that disappeared (an
 * executor that left) disappears from the Pushgateway too. The group is
 * `job/<job>/cluster_id/<id>/node/<node>`; on exit it is DELETEd, because the Pushgateway
 * never expires a group (its issue #19) and a dead node would otherwise look alive forever.
 */
import type { HttpClient } from '../../core/component';
import type { Logger } from '../../core/log';
import { within } from '../../core/isolate';
import { OutageLog } from '../../core/outage';
import { ExpositionWriter } from './text';
import { describeHttpError, describeHttpStatus } from '../../http/client';
import { groupingPath } from './grouping-key';
import type { Batch, Sink } from '../../core/sink';

export interface PushgatewaySinkOptions {
  url: string;
  job: string;
  clusterId: string;
  node: string;
  http: HttpClient;
  logger: Logger;
}

class RefusedError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
  ) {
    super(`HTTP ${status}`);
  }
}

export const TEXT_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Time kept for the DELETE when a PUT in flight is waited for at exit. */
const DELETE_RESERVE_MS = 1500;
/** The least time a DELETE is given, even past the deadline (the process may still be there). */
const MIN_DELETE_MS = 300;

export function createPushgatewaySink(o: PushgatewaySinkOptions): Sink {
  const url = o.url + groupingPath(o.job, [['cluster_id', o.clusterId], ['node', o.node]]);
  const outage = new OutageLog(o.logger, 'push to Pushgateway');
  // Its HELP/TYPE lines and label checks are kept from one push to the next.
  const writer = new ExpositionWriter();
  /** PUTs on their way (more than one when a cycle's PUT hangs past the next cycle). */
  const inFlight = new Set<{ done: Promise<void>; abort: AbortController }>();
  let closing = false;
  const push = async (batch: Batch, abort: AbortController): Promise<void> => {
    try {
      const body = writer.encode(batch.samples, batch.labels);
      // Every cycle: sent without axios (http/direct.ts says why).
      const res = await o.http.direct({ method: 'PUT', url, body, headers: { 'Content-Type': TEXT_CONTENT_TYPE }, signal: abort.signal });
      if (res.status < 200 || res.status > 299) throw new RefusedError(res.status, res.body);
      outage.success();
    } catch (e) {
      if (abort.signal.aborted) throw new Error('push to Pushgateway aborted: the agent is stopping');
      const why = e instanceof RefusedError ? describeHttpStatus(e.status, e.body) : describeHttpError(e);
      outage.failure(why, { url: o.url });
      throw new Error(`push to Pushgateway failed: ${why}`);
    }
  };
  /** Waits for the PUTs still on their way until `until`, then aborts them. */
  const settleInFlight = async (until: number): Promise<void> => {
    if (inFlight.size === 0) return;
    const all = Promise.all([...inFlight].map((p) => p.done));
    const late = (await within(all, until - Date.now())).status === 'late';
    if (!late) return;
    o.logger.warn('a push to the Pushgateway still hangs at exit: aborted', { url: o.url, pushes: inFlight.size });
    for (const p of inFlight) p.abort.abort();
    await all;
  };
  return {
    name: 'pushgateway',
    send(batch: Batch): Promise<void> {
      // After close began, a PUT would bring a deleted group back as a ghost.
      if (closing) return Promise.reject(new Error('push to Pushgateway skipped: the sink is closed'));
      const abort = new AbortController();
      const p = push(batch, abort);
      const entry = { done: p.catch(() => undefined), abort };
      inFlight.add(entry);
      void entry.done.then(() => inFlight.delete(entry));
      return p;
    },
    async close({ nodeLeaving, deadline = Date.now() + 5000 }): Promise<void> {
      closing = true;
      if (!nodeLeaving) {
        // The group stays as the last PUT leaves it: let that PUT finish if it can.
        await settleInFlight(deadline);
        return;
      }
      // A PUT still on its way would land after the DELETE and bring the group back as a
      // ghost: the Pushgateway applies requests in the order they arrive, not were sent. Wait
      // for it while time is left for the DELETE, then abort it.
      await settleInFlight(deadline - DELETE_RESERVE_MS);
      const timeout = Math.max(MIN_DELETE_MS, deadline - Date.now());
      try {
        await o.http.delete(url, { timeout, signal: AbortSignal.timeout(timeout) });
        o.logger.info('deleted Pushgateway group', { url: o.url });
      } catch (e) {
        o.logger.warn('could not delete the Pushgateway group before exit: it is left for `dbx-prom-agent gc`', {
          url: o.url,
          error: describeHttpError(e),
        });
      }
    },
  };
}
