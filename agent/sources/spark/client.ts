/**
 * GET from the Spark UI with a hard deadline, answering parsed JSON or text, and failing with
 * an error that says what went wrong in words an operator can act on: an HTTP status, a
 * timeout, a dropped connection, an HTML page (the Databricks login page answers 200 when a
 * proxy URL is given instead of the driver's own port) or truncated JSON. The Spark UI is
 * plain http on the driver and takes no credentials, so none are ever attached here.
 */
import http from 'node:http';
import type { AxiosInstance } from 'axios';
import { isAxiosError, loadAxios } from '../../http/axios';
import { USER_AGENT } from '../../core/version';

export type SparkErrorKind = 'http' | 'timeout' | 'refused' | 'connection' | 'html' | 'malformed' | 'too_large' | 'aborted';

export class SparkRequestError extends Error {
  constructor(
    readonly kind: SparkErrorKind,
    readonly url: string,
    detail: string,
    readonly status?: number,
  ) {
    super(`GET ${url}: ${detail}`);
    this.name = 'SparkRequestError';
  }
}

/** Pure: a response body to JSON, refusing HTML and naming truncation. */
export function parseJsonBody(body: string, contentType: string | undefined, url: string): unknown {
  const trimmed = body.trimStart();
  if (/text\/html/i.test(contentType ?? '') || trimmed.startsWith('<'))
    throw new SparkRequestError('html', url, 'answered an HTML page, not JSON (a login page or proxy? point --spark-url at the Spark UI port itself)');
  try {
    return JSON.parse(body) as unknown;
  } catch (e) {
    throw new SparkRequestError('malformed', url, `malformed JSON (${body.length} bytes, truncated?): ${(e as Error).message}`);
  }
}

export interface SparkClient {
  /** `signal` aborts the request (the cycle's deadline, or the agent stopping). */
  json(url: string, signal?: AbortSignal): Promise<unknown>;
  text(url: string, signal?: AbortSignal): Promise<string>;
  close(): void;
}

export interface SparkClientOptions {
  timeoutMs: number;
  /** Bytes of one answer read at most; a larger one is cut off while it streams in. */
  maxResponseBytes: number;
}

function classify(e: unknown, url: string, o: SparkClientOptions, signal: AbortSignal | undefined): SparkRequestError {
  if (e instanceof SparkRequestError) return e;
  if (signal?.aborted) return new SparkRequestError('aborted', url, 'abandoned: the cycle went on without it (its deadline passed, or the agent is stopping)');
  // axios' node adapter counts the bytes as they arrive and destroys the stream past the cap.
  if (isAxiosError(e) && /maxContentLength/.test(e.message))
    return new SparkRequestError('too_large', url, `answer larger than ${o.maxResponseBytes} bytes (--spark-max-response-size): left unread`);
  const timeoutMs = o.timeoutMs;
  const code = isAxiosError(e) ? e.code : (e as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ECONNABORTED' || code === 'ETIMEDOUT' || code === 'ERR_CANCELED')
    return new SparkRequestError('timeout', url, `no answer within ${timeoutMs} ms`);
  if (code === 'ECONNREFUSED') return new SparkRequestError('refused', url, 'connection refused (Spark UI not listening)');
  const message = e instanceof Error ? e.message : String(e);
  return new SparkRequestError('connection', url, `connection failed${code ? ` (${code})` : ''}: ${message}`);
}

export function createSparkClient(o: SparkClientOptions): SparkClient {
  const { timeoutMs } = o;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  const client: AxiosInstance = loadAxios().create({
    httpAgent: agent,
    headers: { 'User-Agent': USER_AGENT, Accept: 'application/json, text/plain;q=0.9' },
    maxRedirects: 0,
    // The Spark UI's retained jobs and executors are bounded (spark.ui.retained*), but a
    // runaway answer must not take the agent past its memory limit (systemd MemoryMax=256M):
    // the text and then its parsed JSON are several times its size in the heap.
    maxContentLength: o.maxResponseBytes,
    responseType: 'text',
    transformResponse: [(d: unknown) => d],
    validateStatus: () => true,
    proxy: false,
  });

  const get = async (url: string, signal?: AbortSignal): Promise<{ body: string; contentType?: string }> => {
    try {
      // `timeout` is a socket-idle timeout in axios' node adapter; the signal is the deadline
      // for the whole answer, so a server trickling bytes cannot hold the cycle.
      const deadline = AbortSignal.timeout(timeoutMs);
      const res = await client.get<string>(url, { timeout: timeoutMs, signal: signal ? AbortSignal.any([signal, deadline]) : deadline });
      const body = typeof res.data === 'string' ? res.data : String(res.data ?? '');
      const contentType = res.headers['content-type'] as string | undefined;
      if (res.status !== 200) {
        const snippet = /html/i.test(contentType ?? '') ? '' : body.trim().replace(/\s+/g, ' ').slice(0, 120);
        throw new SparkRequestError('http', url, `HTTP ${res.status}${snippet ? `: ${snippet}` : ''}`, res.status);
      }
      return { body, contentType };
    } catch (e) {
      throw classify(e, url, o, signal);
    }
  };

  return {
    async json(url, signal) {
      const { body, contentType } = await get(url, signal);
      return parseJsonBody(body, contentType, url);
    },
    async text(url, signal) {
      const { body, contentType } = await get(url, signal);
      if (/text\/html/i.test(contentType ?? '') || body.trimStart().startsWith('<'))
        throw new SparkRequestError('html', url, 'answered an HTML page, not Prometheus text');
      return body;
    },
    close: () => agent.destroy(),
  };
}
