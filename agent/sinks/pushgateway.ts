/**
 * Pushgateway sink: each cycle PUTs this node's whole group, so a series that disappeared (an
 * executor that left) disappears from the Pushgateway too. The group is
 * `job/<job>/cluster_id/<id>/node/<node>`; on exit it is DELETEd, because the Pushgateway
 * never expires a group (its issue #19) and a dead node would otherwise look alive forever.
 */
import type { AxiosInstance } from 'axios';
import type { Logger } from '../log';
import { OutageLog } from '../outage';
import { toPrometheusText } from '../exposition';
import { describeHttpError } from '../http/client';
import { groupingPath } from './grouping-key';
import type { Batch, Sink } from './sink';

export interface PushgatewaySinkOptions {
  url: string;
  job: string;
  clusterId: string;
  node: string;
  http: AxiosInstance;
  logger: Logger;
}

export const TEXT_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export function createPushgatewaySink(o: PushgatewaySinkOptions): Sink {
  const url = o.url + groupingPath(o.job, [['cluster_id', o.clusterId], ['node', o.node]]);
  const outage = new OutageLog(o.logger, 'push to Pushgateway');
  let inFlight: Promise<void> | undefined;
  const push = async (batch: Batch): Promise<void> => {
    try {
      const body = await toPrometheusText(batch.samples);
      await o.http.put(url, body, { headers: { 'Content-Type': TEXT_CONTENT_TYPE } });
      outage.success();
    } catch (e) {
      const why = describeHttpError(e);
      outage.failure(why, { url: o.url });
      throw new Error(`push to Pushgateway failed: ${why}`);
    }
  };
  return {
    name: 'pushgateway',
    send(batch: Batch): Promise<void> {
      const p = push(batch);
      inFlight = p.catch(() => undefined);
      return p;
    },
    async close({ deleteGroup }): Promise<void> {
      if (!deleteGroup) return;
      // A PUT still on its way would land after the DELETE and bring the group back as a
      // ghost: the Pushgateway applies requests in the order they arrive, not were sent.
      await inFlight;
      try {
        await o.http.delete(url, { timeout: 2000 });
        o.logger.info('deleted Pushgateway group', { url: o.url });
      } catch (e) {
        o.logger.warn('could not delete Pushgateway group; `dbx-prom-agent gc` will remove it', {
          error: describeHttpError(e),
        });
      }
    },
  };
}
