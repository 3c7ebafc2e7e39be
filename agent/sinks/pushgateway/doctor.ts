/**
 * Doctor's test push to the Pushgateway, through the agent's own HTTP client (TLS and auth
 * included), leaving nothing behind: PUT a throwaway group (the node's grouping key plus
 * `doctor=<random>`), then DELETE it again (the Pushgateway never expires a group by itself).
 */
import { randomBytes } from 'node:crypto';
import type { AxiosInstance } from 'axios';
import { fail, ok, type CheckResult } from '../../core/check';
import { redactUrl } from '../../core/options';
import { gauge } from '../../core/sample';
import { describeHttpError } from '../../http/client';
import { pushHint } from '../../http/push-hint';
import { encodeText } from './text';
import { groupingPath } from './grouping-key';
import { TEXT_CONTENT_TYPE } from './sink';

const doctorCheck = gauge('dbx_agent_doctor_check', 'Pushed by `dbx-prom-agent doctor` into a throwaway group it deletes again.');

export async function checkPushgatewayPush(
  http: AxiosInstance,
  base: string,
  job: string,
  key: ReadonlyArray<readonly [string, string]>,
): Promise<CheckResult> {
  const name = 'push pushgateway';
  const id = randomBytes(4).toString('hex');
  const url = base + groupingPath(job, [...key, ['doctor', id]]);
  const body = encodeText([doctorCheck({}, 1)]);
  try {
    await http.put(url, body, { headers: { 'Content-Type': TEXT_CONTENT_TYPE } });
  } catch (e) {
    // A PUT that timed out may still have been stored: remove the group all the same.
    await http.delete(url).catch(() => undefined);
    return fail(name, `PUT to ${redactUrl(base)}: ${describeHttpError(e)}`, pushHint(e, 'Pushgateway'));
  }
  try {
    await http.delete(url);
  } catch (e) {
    return fail(name, `pushed, but could not delete the throwaway group doctor=${id}: ${describeHttpError(e)}`, 'delete it by hand or with `dbx-prom-agent gc`; the agent deletes its group on exit the same way');
  }
  return ok(name, `PUT and DELETE of throwaway group doctor=${id} on ${redactUrl(base)}`);
}
