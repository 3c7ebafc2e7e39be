import assert from 'node:assert/strict';
import { createSparkClient, parseJsonBody, SparkRequestError } from '../../../agent/sources/spark/client';
import { freePort } from '../../helpers/servers';
import { startFakeSpark, type FakeSpark } from '../../helpers/fake-spark';

async function failure(p: Promise<unknown>): Promise<SparkRequestError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof SparkRequestError, String(e));
    return e;
  }
  assert.fail('expected a rejection');
}

describe('spark/client', () => {
  let spark: FakeSpark;
  const client = createSparkClient({ timeoutMs: 500, maxResponseBytes: 1 << 20 });
  before(async () => {
    spark = await startFakeSpark(new Map());
  });
  after(async () => {
    client.close();
    await spark.close();
  });

  it('parses JSON', async () => {
    spark.route('/ok', { body: '[{"id":"a"}]' });
    assert.deepEqual(await client.json(`${spark.url}/ok`), [{ id: 'a' }]);
  });

  it('names an HTTP error with its status and a body snippet', async () => {
    spark.route('/500', { status: 500, body: 'java.lang.NullPointerException\n\tat org.apache.spark...', contentType: 'text/plain' });
    const e = await failure(client.json(`${spark.url}/500`));
    assert.equal(e.kind, 'http');
    assert.equal(e.status, 500);
    assert.match(e.message, /^GET http:\/\/127\.0\.0\.1:\d+\/500: HTTP 500: java\.lang\.NullPointerException at org/);
  });

  it('times out a hanging server', async () => {
    spark.route('/hang', { hang: true });
    const e = await failure(client.json(`${spark.url}/hang`));
    assert.equal(e.kind, 'timeout');
    assert.match(e.message, /no answer within 500 ms/);
  });

  it('cuts an answer larger than maxResponseBytes while it streams in, naming the setting', async () => {
    spark.route('/big', { body: `[${'"x",'.repeat((1 << 20) / 4)}"x"]` });
    const e = await failure(client.json(`${spark.url}/big`));
    assert.equal(e.kind, 'too_large');
    assert.match(e.message, /\/big: answer larger than 1048576 bytes \(--spark-max-response-size\): left unread/);
  });

  it('gives up a request when its signal aborts (the cycle went on without it)', async () => {
    spark.route('/slow', { hang: true });
    const stop = new AbortController();
    const p = failure(client.json(`${spark.url}/slow`, stop.signal));
    stop.abort();
    const e = await p;
    assert.equal(e.kind, 'aborted');
    assert.match(e.message, /abandoned: the cycle went on without it/);
  });

  it('reports a dropped connection', async () => {
    spark.route('/drop', { destroy: true });
    const e = await failure(client.json(`${spark.url}/drop`));
    assert.equal(e.kind, 'connection');
    assert.match(e.message, /connection failed/);
  });

  it('reports a refused connection apart (Spark not listening yet)', async () => {
    const e = await failure(client.json(`http://127.0.0.1:${await freePort()}/x`));
    assert.equal(e.kind, 'refused');
  });

  it('refuses an HTML page answered with 200 (the Databricks login page)', async () => {
    spark.route('/login', { body: '<!DOCTYPE html><html><title>Databricks - Sign In</title></html>', contentType: 'text/html; charset=utf-8' });
    const e = await failure(client.json(`${spark.url}/login`));
    assert.equal(e.kind, 'html');
    assert.match(e.message, /HTML page, not JSON/);
    await failure(client.text(`${spark.url}/login`));
  });

  it('names truncated JSON', async () => {
    spark.route('/trunc', { body: '[ { "id" : "driver", "hostPort" : "10.0.0' });
    const e = await failure(client.json(`${spark.url}/trunc`));
    assert.equal(e.kind, 'malformed');
    assert.match(e.message, /malformed JSON \(\d+ bytes, truncated\?\)/);
  });

  it('parseJsonBody sees HTML even without a content type', () => {
    assert.throws(() => parseJsonBody('  <html>', undefined, 'u'), /HTML page/);
    assert.deepEqual(parseJsonBody('{"a":1}', 'application/json', 'u'), { a: 1 });
  });
});
