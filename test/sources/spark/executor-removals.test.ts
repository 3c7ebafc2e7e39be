import assert from 'node:assert/strict';
import type { Sample } from '../../../agent/core/sample';
import {
  classifyRemoveReason,
  ExecutorRemovalTracker,
  executorStates,
  REMOVAL_REASONS,
  type ExecutorState,
  type RemovalReason,
} from '../../../agent/sources/spark/executor-removals';
import { DATABRICKS_APP_ID, databricksFixture } from '../../helpers/fake-spark';

/** The counter's value per reason, checking every reason is there exactly once. */
function counts(samples: readonly Sample[], appId: string): Record<RemovalReason, number> {
  assert.ok(samples.every((s) => s.name === 'spark_executor_removals_total' && s.type === 'counter' && s.labels.spark_app_id === appId));
  assert.deepEqual(samples.map((s) => s.labels.reason).sort(), [...REMOVAL_REASONS].sort());
  return Object.fromEntries(samples.map((s) => [s.labels.reason, s.value])) as Record<RemovalReason, number>;
}

const ZERO: Record<RemovalReason, number> = { decommissioned: 0, killed: 0, out_of_memory: 0, lost: 0, other: 0 };

const active = (id: string): ExecutorState => ({ id, isActive: true });
const dead = (id: string, removeReason?: string): ExecutorState => ({ id, isActive: false, removeReason });

describe('spark/executor-removals', () => {
  describe('classifyRemoveReason (the texts Spark and Databricks write)', () => {
    // Each string is what the named file builds (ids, hosts and sizes filled in).
    const cases: [RemovalReason, string, string][] = [
      // decommissioned
      ['decommissioned', 'worker lost: 10.139.64.13 decommissioned because of autoscaling', 'Databricks, test/fixtures/spark/databricks/allexecutors.json'],
      ['decommissioned', 'Executor decommission: worker decommissioned because of kill request from HTTP endpoint', 'Databricks (ExecutorDecommission msgPrefix + its reason)'],
      ['decommissioned', 'Executor decommission: spark scale down', 'ExecutorAllocationManager with decommissioning on'],
      ['decommissioned', 'Executor decommission: Executor 7 is decommissioned.', 'CoarseGrainedSchedulerBackend, executor-triggered'],
      ['decommissioned', 'Executor decommission: Decommissioning all executors on 10.0.0.5.', 'CoarseGrainedSchedulerBackend, DecommissionExecutorsOnHost'],
      ['decommissioned', 'Executor decommission: worker decommissioned', 'Master.decommissionWorker via ExecutorDecommission'],
      ['decommissioned', 'Executor decommission.', 'ExecutorDecommission, Spark 3.1-3.3'],
      ['decommissioned', 'Finished decommissioning', 'ExecutorLossMessage.decommissionFinished'],
      // killed
      ['killed', 'Executor killed by driver.', 'ExecutorKilled (dynamic allocation idle removal, sc.killExecutors)'],
      ['killed', 'Container container_1612345678901_0001_01_000004 exited from explicit termination request.', 'YarnAllocator, a container the driver released'],
      // out_of_memory
      ['out_of_memory', 'Command exited with code 52', 'standalone ExecutorRunner, SparkExitCode.OOM'],
      ['out_of_memory', 'Command exited with code 137', 'standalone ExecutorRunner, SIGKILL'],
      ['out_of_memory', 'OutOfMemoryError', 'ExecutorExitCode.explainExitCode(52)'],
      [
        'out_of_memory',
        '\nThe executor with id 13 exited with exit code 137(SIGKILL, possible container OOM).\n\n\n\nThe API gave the following container statuses:\n\n\n\t container name: spark-kubernetes-executor\n\t container state: terminated\n\t exit code: 137\n\t termination reason: OOMKilled\n',
        'Kubernetes ExecutorPodsLifecycleManager (a real driver log)',
      ],
      ['out_of_memory', '\nThe executor with id 4 exited with exit code 52(JVM OOM).\n\n\nThe API gave the following container statuses:\n', 'Kubernetes describeExitCode(52)'],
      [
        'out_of_memory',
        'Container killed by YARN for exceeding physical memory limits. 12.1 GB of 12 GB physical memory used. Consider boosting spark.executor.memoryOverhead.',
        'YarnAllocator, PMEM_EXCEEDED_EXIT_CODE',
      ],
      [
        'out_of_memory',
        'Container killed by YARN for exceeding virtual memory limits. 9.3 GB of 8.4 GB virtual memory used. Consider boosting spark.executor.memoryOverhead or boosting yarn.nodemanager.vmem-pmem-ratio or disabling yarn.nodemanager.vmem-check-enabled because of YARN-4714.',
        'YarnAllocator, VMEM_EXCEEDED_EXIT_CODE',
      ],
      [
        'out_of_memory',
        'Container killed by YARN for exceeding memory limits. 40.6 GB of 40 GB physical memory used. Consider boosting spark.yarn.executor.memoryOverhead.',
        'YarnAllocator, Spark 2.x',
      ],
      [
        'out_of_memory',
        'Container from a bad node: container_1612345678901_0001_01_000007 on host: ip-10-0-3-41. Exit status: 137. Diagnostics: Container killed on request. Exit code is 137.',
        'YarnAllocator, other exit status',
      ],
      // lost
      ['lost', 'worker lost: Not receiving heartbeat for 60 seconds', 'Master.removeWorker'],
      ['lost', 'Worker lost', 'AgentLost default, Spark 3.0'],
      ['lost', 'Slave lost', 'SlaveLost default, Spark 2.x'],
      ['lost', 'Executor Process Lost', 'ExecutorProcessLost default'],
      [
        'lost',
        'Remote RPC client disassociated. Likely due to containers exceeding thresholds, or network issues. Check driver logs for WARN messages.',
        'CoarseGrainedSchedulerBackend.onDisconnected',
      ],
      ['lost', 'Executor heartbeat timed out after 148564 ms', 'HeartbeatReceiver'],
      ['lost', 'Unable to send heartbeats to driver.', 'ExecutorExitCode.HEARTBEAT_FAILURE'],
      ['lost', 'The executor with id 9 was deleted by a user or the framework.', 'Kubernetes, PodDeleted'],
      [
        'lost',
        'The executor with ID 3 (registered at 1700000000000 ms) was not found in the cluster at the polling time (1700000090000 ms) which is after the accepted detect delta time (30000 ms) configured by `spark.kubernetes.executor.missingPodDetectDelta`. The executor may have been deleted but the driver missed the deletion event. Marking this executor as failed.',
        'Kubernetes, missing pod',
      ],
      ['lost', 'Container container_1612345678901_0001_01_000002 on host: ip-10-0-3-40 was preempted.', 'YarnAllocator, PREEMPTED'],
      // other
      ['other', 'Command exited with code 1', 'standalone ExecutorRunner, an application error'],
      ['other', 'Command exited with code 143', 'standalone ExecutorRunner, SIGTERM'],
      ['other', 'Executor killed by TaskReaper.', 'ExecutorExitCode 57: a stuck task, not the driver'],
      ['other', 'Failed to create local directory (bad spark.local.dir?)', 'ExecutorExitCode 53'],
      ['other', 'Container marked as failed: container_1612345678901_0001_01_000005 on host: ip-10-0-3-42. Exit status: 143. Diagnostics: Container killed on request.', 'YarnAllocator, killed by the RM'],
    ];
    for (const [want, text, from] of cases)
      it(`${want}: ${JSON.stringify(text.trim().split('\n')[0]!.slice(0, 70))} (${from})`, () => assert.equal(classifyRemoveReason(text), want));

    it('treats no text as other (still a loss to alert on)', () => {
      assert.equal(classifyRemoveReason(undefined), 'other');
      assert.equal(classifyRemoveReason(''), 'other');
      assert.equal(classifyRemoveReason('   '), 'other');
    });

    it('does not take exit codes that merely start with 52 or 137 for OOM', () => {
      assert.equal(classifyRemoveReason('Command exited with code 520'), 'other');
      assert.equal(classifyRemoveReason('Command exited with code 1370'), 'other');
    });

    it('classifies the Databricks fixture: its one dead executor is an autoscaling decommission', () => {
      const states = executorStates(JSON.parse(databricksFixture('allexecutors.json')));
      const gone = states.filter((s) => !s.isActive);
      assert.deepEqual(
        gone.map((s) => [s.id, classifyRemoveReason(s.removeReason)]),
        [['3', 'decommissioned']],
      );
    });
  });

  describe('executorStates', () => {
    it('reads id, liveness (active unless isActive is false) and removeReason', () => {
      assert.deepEqual(
        executorStates([
          { id: 'driver', isActive: true },
          { id: '1' },
          { id: '2', isActive: false, removeReason: 'Executor killed by driver.' },
          { id: '3', isActive: false, removeReason: null },
          { id: 4, isActive: false },
          null,
          'x',
        ]),
        [
          { id: 'driver', isActive: true, removeReason: undefined },
          { id: '1', isActive: true, removeReason: undefined },
          { id: '2', isActive: false, removeReason: 'Executor killed by driver.' },
          { id: '3', isActive: false, removeReason: undefined },
        ],
      );
    });

    it('refuses what is not a list', () => {
      assert.throws(() => executorStates({ message: 'nope' }), /expected a JSON array/);
      assert.throws(() => executorStates(null), /got null/);
    });
  });

  describe('ExecutorRemovalTracker', () => {
    it('takes the first read of an application as the baseline: all reasons at 0, what was dead not counted', () => {
      const t = new ExecutorRemovalTracker();
      const first = t.observe('app-1', [active('driver'), active('1'), dead('2', 'worker lost: Not receiving heartbeat for 60 seconds'), dead('3', 'Command exited with code 137')]);
      assert.deepEqual(counts(first, 'app-1'), ZERO);
    });

    it('baseline on the Databricks fixture, then the same payload again: still nothing counted', () => {
      const t = new ExecutorRemovalTracker();
      const json: unknown = JSON.parse(databricksFixture('allexecutors.json'));
      assert.deepEqual(counts(t.observeJson(DATABRICKS_APP_ID, json), DATABRICKS_APP_ID), ZERO);
      assert.deepEqual(counts(t.observeJson(DATABRICKS_APP_ID, json), DATABRICKS_APP_ID), ZERO);
    });

    it('counts a removal once, in the cycle it is first seen dead, by its reason', () => {
      const t = new ExecutorRemovalTracker();
      t.observe('app-1', [active('driver'), active('1'), active('2'), active('3')]);
      const lost = [active('driver'), active('1'), dead('2', 'worker lost: Not receiving heartbeat for 60 seconds'), active('3')];
      assert.deepEqual(counts(t.observe('app-1', lost), 'app-1'), { ...ZERO, lost: 1 });
      // Seen dead again and again: not counted again.
      assert.deepEqual(counts(t.observe('app-1', lost), 'app-1'), { ...ZERO, lost: 1 });
      assert.deepEqual(counts(t.observe('app-1', lost), 'app-1'), { ...ZERO, lost: 1 });
      // An autoscale-down and an OOM later: each under its own reason.
      const more = [
        active('driver'),
        active('1'),
        dead('2', 'worker lost: Not receiving heartbeat for 60 seconds'),
        dead('3', 'worker lost: 10.139.64.13 decommissioned because of autoscaling'),
        dead('4', 'Command exited with code 52'),
      ];
      assert.deepEqual(counts(t.observe('app-1', more), 'app-1'), { ...ZERO, lost: 1, decommissioned: 1, out_of_memory: 1 });
    });

    it('counts an executor that started and died between two reads', () => {
      const t = new ExecutorRemovalTracker();
      t.observe('app-1', [active('driver'), active('1')]);
      assert.deepEqual(counts(t.observe('app-1', [active('driver'), active('1'), dead('5', 'Executor killed by driver.')]), 'app-1'), { ...ZERO, killed: 1 });
    });

    it('counts a dead id listed twice in one payload once', () => {
      const t = new ExecutorRemovalTracker();
      t.observe('app-1', []);
      assert.deepEqual(counts(t.observe('app-1', [dead('7', 'Executor Process Lost'), dead('7', 'Executor Process Lost')]), 'app-1'), { ...ZERO, lost: 1 });
    });

    it('never counts the driver entry', () => {
      const t = new ExecutorRemovalTracker();
      t.observe('app-1', [active('driver')]);
      assert.deepEqual(counts(t.observe('app-1', [dead('driver', 'worker lost')]), 'app-1'), ZERO);
    });

    it('keeps applications apart', () => {
      const t = new ExecutorRemovalTracker();
      t.observe('app-1', [active('1')]);
      t.observe('app-2', [active('1')]);
      assert.deepEqual(counts(t.observe('app-1', [dead('1', 'Command exited with code 137')]), 'app-1'), { ...ZERO, out_of_memory: 1 });
      assert.deepEqual(counts(t.observe('app-2', [active('1')]), 'app-2'), ZERO);
    });

    it('remembers only the ids dead in the latest list (bounded by spark.ui.retainedDeadExecutors)', () => {
      const t = new ExecutorRemovalTracker();
      t.observe('app-1', []);
      // 1000 executors come and go; Spark keeps the latest 100 dead ones.
      let total = 0;
      for (let cycle = 1; cycle <= 10; cycle++) {
        const retained = Array.from({ length: 100 }, (_, i) => dead(String(cycle * 100 + i), 'worker lost: 10.0.0.1 decommissioned because of autoscaling'));
        total += 100;
        assert.equal(counts(t.observe('app-1', retained), 'app-1').decommissioned, total);
        assert.equal(t.rememberedDead('app-1'), 100);
      }
      // Ones Spark dropped are forgotten; their ids never come back (never reused in an app).
      t.observe('app-1', [dead('1099', 'x')]);
      assert.equal(t.rememberedDead('app-1'), 1);
    });

    it('forgets applications no longer read; one read again starts from a new baseline', () => {
      const t = new ExecutorRemovalTracker();
      t.observe('app-1', [active('1')]);
      t.observe('app-2', [active('1')]);
      t.observe('app-1', [dead('1', 'Executor Process Lost')]);
      t.retainApps(['app-2']);
      assert.equal(t.trackedApps, 1);
      assert.equal(t.rememberedDead('app-1'), 0);
      // Back again (e.g. it was one of more than 4 applications for a while): a baseline, the
      // executor dead meanwhile is not counted twice nor as a burst.
      assert.deepEqual(counts(t.observe('app-1', [dead('1', 'Executor Process Lost'), dead('2', 'Executor Process Lost')]), 'app-1'), ZERO);
    });

    it('never tracks more than its application bound, dropping the one first read longest ago', () => {
      const t = new ExecutorRemovalTracker(3);
      for (const id of ['a', 'b', 'c', 'd', 'e']) t.observe(id, [dead('1', 'x')]);
      assert.equal(t.trackedApps, 3);
      assert.equal(t.rememberedDead('a'), 0);
      assert.equal(t.rememberedDead('b'), 0);
      assert.equal(t.rememberedDead('e'), 1);
    });

    it('changes nothing when the payload is not a list', () => {
      const t = new ExecutorRemovalTracker();
      t.observe('app-1', [dead('1', 'Executor Process Lost')]);
      assert.throws(() => t.observeJson('app-1', { message: 'nope' }), /expected a JSON array/);
      // Had the error emptied the memory, executor 1 would now count as a new removal.
      assert.deepEqual(counts(t.observe('app-1', [dead('1', 'Executor Process Lost')]), 'app-1'), ZERO);
    });
  });
});
