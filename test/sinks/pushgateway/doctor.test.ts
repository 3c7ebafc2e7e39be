import assert from 'node:assert/strict';
import axios from 'axios';
import { checkPushgatewayPush } from '../../../agent/sinks/pushgateway/doctor';
import { startRecordingServer } from '../../helpers/recording-server';

describe('sinks/pushgateway/doctor', () => {
  it('deletes the throwaway group even when the PUT failed (it may have been stored)', async () => {
    const server = await startRecordingServer((r) => (r.method === 'PUT' ? { status: 503, body: 'overloaded' } : { status: 202 }));
    try {
      const r = await checkPushgatewayPush(axios.create(), server.url, 'databricks', [['cluster_id', 'c'], ['node', 'n']]);
      assert.equal(r.status, 'fail');
      const [put, del] = server.requests;
      assert.equal(put?.method, 'PUT');
      assert.equal(del?.method, 'DELETE');
      assert.equal(del?.path, put?.path);
      assert.match(put!.path, /\/doctor\/[0-9a-f]{8}$/);
    } finally {
      await server.close();
    }
  });
});
