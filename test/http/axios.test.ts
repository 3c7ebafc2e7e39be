import assert from 'node:assert/strict';
import axios from 'axios';
import { isAxiosError, loadAxios } from '../../agent/http/axios';

describe('http/axios', () => {
  it('agrees with axios.isAxiosError', () => {
    const cases: unknown[] = [new axios.AxiosError('boom', 'ECONNREFUSED'), new Error('boom'), { isAxiosError: 'yes' }, null, undefined, 'x'];
    for (const e of cases) assert.equal(isAxiosError(e), axios.isAxiosError(e), String(e));
  });

  it('loadAxios is the axios the tests import', () => {
    assert.equal(loadAxios().isAxiosError, axios.isAxiosError);
  });
});
