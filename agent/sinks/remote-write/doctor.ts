/**
 * Doctor's test push to a remote-write receiver: an empty WriteRequest (zero series), which a
 * receiver takes with a 2xx and stores nothing. It proves address, TLS, auth and the protocol
 * without writing a sample.
 */
import type { AxiosInstance } from 'axios';
import { fail, ok, type CheckResult } from '../../core/check';
import { redactUrl } from '../../core/options';
import { describeHttpError } from '../../http/client';
import { pushHint } from '../../http/push-hint';
import { encodeWriteRequest } from './protobuf';
import { snappyCompress } from './snappy';

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
    return fail(name, `POST to ${redactUrl(url)}: ${describeHttpError(e)}`, pushHint(e, 'remote-write'));
  }
}
