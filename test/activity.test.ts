import assert from 'node:assert/strict';
import { ActivityDetector } from '../agent/activity';
import type { Sample } from '../agent/core/sample';
import { cpuSeconds as cpuFamily } from '../agent/sources/host/stat';
import { endpointUp as up } from '../agent/sources/spark/endpoints';
import { activeTasks as activeFamily } from '../agent/sources/spark/parse';

/** node_cpu_seconds_total for 2 CPUs with the given cumulative busy (user) and idle seconds each. */
function cpu(busy: number, idle: number, iowait = 0): Sample[] {
  return ['0', '1'].flatMap((c) => [
    cpuFamily({ cpu: c, mode: 'user' }, busy),
    cpuFamily({ cpu: c, mode: 'idle' }, idle),
    cpuFamily({ cpu: c, mode: 'iowait' }, iowait),
  ]);
}

describe('activity', () => {
  it('a driver is busy while Spark has active tasks, in any application', () => {
    const d = new ActivityDetector(0.2);
    assert.equal(d.observe([activeFamily({ spark_app_id: 'a' }, 0), activeFamily({ spark_app_id: 'b' }, 3)]), true);
    assert.equal(d.observe([activeFamily({ spark_app_id: 'a' }, 0)]), false);
    assert.equal(d.observe([]), false);
  });

  it("a driver whose executors endpoint failed is busy: Spark's activity is unknown, not idle", () => {
    const d = new ActivityDetector(0.2);
    assert.equal(d.observe([up({ endpoint: 'executors', spark_app_id: 'a' }, 0)]), true);
    assert.equal(d.observe([up({ endpoint: 'executors', spark_app_id: 'a' }, 1), activeFamily({ spark_app_id: 'a' }, 0)]), false);
    // Another endpoint failing says nothing about the running tasks.
    assert.equal(d.observe([up({ endpoint: 'jobs', spark_app_id: 'a' }, 0), activeFamily({ spark_app_id: 'a' }, 0)]), false);
  });

  it('a worker is busy when CPU use since the last cycle is above the threshold', () => {
    const d = new ActivityDetector(0.2);
    // First cycle: no previous sample to compare with → not busy.
    assert.equal(d.observe(cpu(100, 1000)), false);
    // +30 busy, +70 idle per CPU: 30 % > 20 %.
    assert.equal(d.observe(cpu(130, 1070)), true);
    // +10 busy, +90 idle: 10 %.
    assert.equal(d.observe(cpu(140, 1160)), false);
    // iowait is waiting, not work: +5 busy, +20 idle, +75 iowait → 5 %.
    assert.equal(d.observe(cpu(145, 1180, 75)), false);
  });

  it('exactly at the threshold is not busy; a counter reset is not mistaken for activity', () => {
    const d = new ActivityDetector(0.2);
    d.observe(cpu(0, 0));
    assert.equal(d.observe(cpu(20, 80)), false);
    // Reboot-like reset: totals go down; no comparison this cycle.
    assert.equal(d.observe(cpu(1, 1)), false);
    assert.equal(d.observe(cpu(91, 11)), true);
  });

  it('a cycle without CPU samples (host source failed) keeps the last reference', () => {
    const d = new ActivityDetector(0.5);
    d.observe(cpu(0, 100));
    assert.equal(d.observe([]), false);
    assert.equal(d.observe(cpu(60, 140)), true);
  });
});
