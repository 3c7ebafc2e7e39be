/**
 * A real push to each sink, through the agent's own HTTP client (TLS and auth included), that
 * leaves nothing behind:
 *  - Pushgateway: PUT a throwaway group (the node's grouping key plus `doctor=<random>`), then
 *    DELETE it again (the Pushgateway never expires a group by itself).
 *  - Remote write: an empty WriteRequest (zero series), which a receiver takes with a 2xx and
 *    stores nothing: it proves address, TLS, auth and the protocol without writing a sample.
 */
import { randomBytes } from 'node:crypto';
import type { AxiosInstance } from 'axios';
import axios from 'axios';
import { redactUrl } from '../config';
import { describeHttpError } from '../http/client';
import { toPrometheusText } from '../sinks/pushgateway/exposition';
import { gauge } from '../core/sample';
import { groupingPath } from '../sinks/pushgateway/grouping-key';
import { TEXT_CONTENT_TYPE } from '../sinks/pushgateway/sink';
import { encodeWriteRequest } from '../sinks/remote-write/protobuf';
import { snappyCompress } from '../sinks/remote-write/snappy';
import { fail, ok, type CheckResult } from './check';

const doctorCheck = gauge('dbx_agent_doctor_check', 'Pushed by `dbx-prom-agent doctor` into a throwaway group it deletes again.');

function hintFor(e: unknown, what: string): string {
  const status = axios.isAxiosError(e) ? e.response?.status : undefined;
  if (status === 401) return 'the endpoint rejected the credentials: check the token/password/client secret and its file';
  if (status === 403) return 'the credentials are valid but not allowed to push here';
  if (status === 404) return `no ${what} API at this path: check the URL (and its path prefix behind a proxy)`;
  if (status !== undefined && status >= 500) return 'the endpoint or a proxy in front of it has a problem: see its logs';
  const text = describeHttpError(e);
  if (/TLS/.test(text)) return 'see the tls check above; --ca-file, --cert-file/--key-file, --tls-server-name';
  return 'see the dns/tcp checks above';
}

export async function checkPushgatewayPush(
  http: AxiosInstance,
  base: string,
  job: string,
  key: ReadonlyArray<readonly [string, string]>,
): Promise<CheckResult> {
  const name = 'push pushgateway';
  const id = randomBytes(4).toString('hex');
  const url = base + groupingPath(job, [...key, ['doctor', id]]);
  const body = await toPrometheusText([doctorCheck({}, 1)]);
  try {
    await http.put(url, body, { headers: { 'Content-Type': TEXT_CONTENT_TYPE } });
  } catch (e) {
    // A PUT that timed out may still have been stored: remove the group all the same.
    await http.delete(url).catch(() => undefined);
    return fail(name, `PUT to ${redactUrl(base)}: ${describeHttpError(e)}`, hintFor(e, 'Pushgateway'));
  }
  try {
    await http.delete(url);
  } catch (e) {
    return fail(name, `pushed, but could not delete the throwaway group doctor=${id}: ${describeHttpError(e)}`, 'delete it by hand or with `dbx-prom-agent gc`; the agent deletes its group on exit the same way');
  }
  return ok(name, `PUT and DELETE of throwaway group doctor=${id} on ${redactUrl(base)}`);
}

export async function checkRemoteWritePush(http: AxiosInstance, url: string): Promise<CheckResult> {
  const name = 'push remote_write';
  try {
    const res = await http.post(url, snappyCompress(encodeWriteRequest([])), {
      headers: {
        'Content-Type': 'application/x-protobuf',
        'Content-Encoding': 'snappy',
        'X-Prometheus-Remote-Write-Version': '0.1.0',
      },
      responseType: 'text',
    });
    return ok(name, `empty WriteRequest accepted by ${redactUrl(url)} (HTTP ${res.status})`);
  } catch (e) {
    return fail(name, `POST to ${redactUrl(url)}: ${describeHttpError(e)}`, hintFor(e, 'remote-write'));
  }
}
