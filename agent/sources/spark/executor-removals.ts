/**
 * Why executors left a Spark application, counted once per executor.
 *
 * Spark's `/api/v1/applications/<app>/allexecutors` (`ExecutorSummary`) keeps dead executors
 * (up to `spark.ui.retainedDeadExecutors`, 100 by default) with `isActive: false` and a
 * free-text `removeReason`: the `toString` of the `ExecutorLossReason` that
 * `CoarseGrainedSchedulerBackend.removeExecutor` posts in `SparkListenerExecutorRemoved`.
 * A dead executor is not an incident by itself: Databricks autoscaling and Spark's dynamic
 * allocation remove executors all day. The reason text tells a scale-down from a lost node or
 * an out-of-memory kill, so this module
 *  - maps the text into a small bounded set (a label value: never the text itself), and
 *  - counts each removal once, when first seen dead, and only removals after the agent first
 *    read the application (DESIGN.md, "finished things are counted once": what was already
 *    dead at that first read is Spark's retained past and must not read as a burst in rate()).
 *
 * Pure apart from the tracker's state; no I/O.
 */
import { counter, type Sample } from '../../core/sample';

// ---- classification -----------------------------------------------------------------------

/**
 * The bounded label values. `decommissioned` and `killed` are removals Spark or the cluster
 * manager chose (scale-down); `out_of_memory`, `lost` and `other` took running work with them.
 */
export const REMOVAL_REASONS = ['decommissioned', 'killed', 'out_of_memory', 'lost', 'other'] as const;
export type RemovalReason = (typeof REMOVAL_REASONS)[number];

/**
 * Ordered rules: the first match wins. Sources are Apache Spark's own files (paths in
 * apache/spark) unless named otherwise. Matching is case-insensitive, on substrings, because
 * the texts carry hosts, ids, sizes and free-form suffixes.
 */
const RULES: readonly { reason: RemovalReason; pattern: RegExp }[] = [
  // Graceful decommission, first: it is a scale-down even when worded as a loss. Covers
  //  - "Executor decommission: <reason>" (core/.../scheduler/ExecutorLossReason.scala,
  //    ExecutorDecommission.msgPrefix, Spark 3.4+ since SPARK-40596) and "Executor
  //    decommission." (the fixed text of Spark 3.1-3.3, as SPARK-40596 describes);
  //  - the reasons that prefix carries: "spark scale down" (ExecutorAllocationManager, dynamic
  //    allocation with decommissioning on), "Executor <id> is decommissioned." and
  //    "Decommissioning all executors on <host>." (CoarseGrainedSchedulerBackend), "worker
  //    decommissioned" (deploy/master/Master.scala, decommissionWorker), Databricks'
  //    "worker decommissioned because of kill request from HTTP endpoint" (seen in a
  //    Databricks notebook and a Databricks user's report in the search index);
  //  - "Finished decommissioning" (ExecutorLossReason.scala, ExecutorLossMessage);
  //  - Databricks autoscaling: "worker lost: <ip> decommissioned because of autoscaling"
  //    (test/fixtures/spark/databricks/allexecutors.json). Master.removeWorker words every
  //    worker removal "worker lost: $msg", so the "decommissioned" in the message must win.
  { reason: 'decommissioned', pattern: /decommission/i },
  // The driver asked for it: "Executor killed by driver." (ExecutorLossReason.scala,
  // ExecutorKilled), which CoarseGrainedSchedulerBackend.removeExecutor reports for every
  // executor in executorsPendingToRemove: dynamic allocation's idle timeout
  // (ExecutorAllocationManager.removeExecutors -> killExecutors), sc.killExecutors, and the
  // force-kill of decommissions that overran. YARN's own wording for a container the driver
  // released: "Container <id> exited from explicit termination request."
  // (resource-managers/yarn/.../YarnAllocator.scala). Not "Executor killed by TaskReaper."
  // (ExecutorExitCode 57): that is a stuck task, and falls to `other`.
  { reason: 'killed', pattern: /killed by driver|exited from explicit termination request/i },
  // Out of memory, in each cluster manager's words:
  //  - "OutOfMemoryError": ExecutorExitCode.explainExitCode(52) (SparkExitCode.OOM = 52, the
  //    uncaught-exception handler's exit on an OutOfMemoryError);
  //  - standalone (Databricks): "Command exited with code 52" / "... 137" (deploy/worker/
  //    ExecutorRunner.scala; 137 = 128 + SIGKILL, the kernel OOM killer's signal);
  //  - Kubernetes: "The executor with id <n> exited with exit code 52(JVM OOM)." and
  //    "... 137(SIGKILL, possible container OOM)." (ExecutorPodsLifecycleManager.describeExitCode),
  //    container status "termination reason: OOMKilled";
  //  - YARN: "Container killed by YARN for exceeding physical memory limits." / "... virtual
  //    memory limits." (YarnAllocator.processCompletedContainers; Spark 2.x: "... exceeding
  //    memory limits."), and "Exit status: 137." in its "Container from a bad node" text.
  {
    reason: 'out_of_memory',
    pattern:
      /OutOfMemoryError|\bJVM OOM\b|OOMKilled|possible container OOM|killed by YARN for exceeding (?:\w+ )?memory limits|\bexit(?:ed with)?(?: exit)? (?:code|status)(?: is)?:? ?(?:52|137)\b/i,
  },
  // The executor or its host went away unannounced (node failure, spot reclaim without a
  // decommission notice, network partition, a JVM frozen in GC):
  //  - "worker lost: <why>" (Master.removeWorker, e.g. "Not receiving heartbeat for 60
  //    seconds") and "Worker lost" (AgentLost's default, Spark 3.0), "Slave lost" (SlaveLost's
  //    default, Spark 2.x), "Executor Process Lost" (ExecutorProcessLost's default, 3.1+),
  //    all in ExecutorLossReason.scala of their versions;
  //  - "Remote RPC client disassociated. Likely due to containers exceeding thresholds, or
  //    network issues. ..." (CoarseGrainedSchedulerBackend.onDisconnected);
  //  - "Executor heartbeat timed out after <n> ms" (HeartbeatReceiver) and "Unable to send
  //    heartbeats to driver." (ExecutorExitCode.HEARTBEAT_FAILURE, 56);
  //  - Kubernetes: "The executor with id <n> was deleted by a user or the framework." and
  //    "... was not found in the cluster at the polling time ..." (ExecutorPodsLifecycleManager);
  //  - YARN: "Container <id> on host: <h> was preempted." and "... exited because of a YARN
  //    event (e.g., pre-emption) ..." (YarnAllocator).
  {
    reason: 'lost',
    pattern:
      /worker lost|slave lost|executor process lost|RPC client disassociated|heartbeat timed out|unable to send heartbeats|deleted by a user or the framework|not found in the cluster|was preempted|because of a YARN event/i,
  },
];

/**
 * The bounded reason of one executor removal, from Spark's `removeReason` text. Anything not
 * recognised, and no text at all, is `other`: it still counts as a loss (an alert on removals
 * that are not scale-downs must not go quiet because a message was reworded).
 */
export function classifyRemoveReason(text: string | undefined): RemovalReason {
  if (text === undefined || text.trim() === '') return 'other';
  for (const r of RULES) if (r.pattern.test(text)) return r.reason;
  return 'other';
}

// ---- the executors Spark lists ------------------------------------------------------------

/** What the tracker needs of one `ExecutorSummary`. */
export interface ExecutorState {
  readonly id: string;
  readonly isActive: boolean;
  readonly removeReason?: string | undefined;
}

/** The driver's own entry (`id: "driver"`) is not an executor that can be removed. */
const DRIVER_ID = 'driver';

/**
 * The id, liveness and remove reason of each entry of a raw `/allexecutors` payload. Liveness
 * as parseExecutors reads it (active unless `isActive` is false). Throws on a payload that is
 * not a list: the tracker must not take "no list" for "every dead executor left".
 */
export function executorStates(json: unknown): ExecutorState[] {
  if (!Array.isArray(json)) throw new Error(`executors: expected a JSON array, got ${json === null ? 'null' : typeof json}`);
  const out: ExecutorState[] = [];
  for (const item of json) {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) continue;
    const e = item as Record<string, unknown>;
    if (typeof e.id !== 'string') continue;
    out.push({
      id: e.id,
      isActive: e.isActive !== false,
      removeReason: typeof e.removeReason === 'string' ? e.removeReason : undefined,
    });
  }
  return out;
}

// ---- counting once ------------------------------------------------------------------------

export const executorRemovals = counter(
  'spark_executor_removals_total',
  'Executors removed from a Spark application since the agent first read it, each counted once, by reason (decommissioned, killed, out_of_memory, lost, other) read from Spark\'s removeReason.',
);

interface AppRemovals {
  /** Ids dead in the latest list: Spark never reuses an executor id within an application. */
  dead: Set<string>;
  counts: Map<RemovalReason, number>;
}

/** A safety bound in case a caller never calls retainApps (the source reads at most 4). */
export const MAX_TRACKED_APPS = 16;

/**
 * Counts executor removals of each application once. Feed it every cycle's executor list of
 * an application (`observe`, or `observeJson` with the raw payload) and the applications still
 * read (`retainApps`). Memory: per application, the ids dead in its latest list (at most what
 * Spark retains, spark.ui.retainedDeadExecutors) and five numbers; applications no longer read
 * are forgotten (read again later, one starts over from a new baseline: a counter reset, which
 * increase() and rate() handle).
 */
export class ExecutorRemovalTracker {
  private readonly apps = new Map<string, AppRemovals>();

  constructor(private readonly maxApps: number = MAX_TRACKED_APPS) {}

  /**
   * One cycle's executors of `appId`; returns its `spark_executor_removals_total` samples, one
   * per reason, every reason from the first read at 0 (so increase() sees the first removal).
   * The first read of an application is the baseline: executors already dead then are not
   * counted. After that, an executor counts once, in the cycle it is first seen dead (whether
   * it was seen active before or started and died between two reads).
   */
  observe(appId: string, executors: readonly ExecutorState[]): Sample[] {
    const deadNow = executors.filter((e) => !e.isActive && e.id !== DRIVER_ID);
    let app = this.apps.get(appId);
    if (app === undefined) {
      app = { dead: new Set(deadNow.map((e) => e.id)), counts: new Map(REMOVAL_REASONS.map((r) => [r, 0])) };
      this.apps.set(appId, app);
      this.evictOverflow();
    } else {
      const next = new Set<string>();
      for (const e of deadNow) {
        if (!app.dead.has(e.id) && !next.has(e.id)) {
          const reason = classifyRemoveReason(e.removeReason);
          app.counts.set(reason, app.counts.get(reason)! + 1);
        }
        next.add(e.id);
      }
      // Only the ids Spark still lists: one it dropped (past its retention) never comes back.
      app.dead = next;
    }
    return REMOVAL_REASONS.map((reason) => executorRemovals({ spark_app_id: appId, reason }, app.counts.get(reason)!));
  }

  /** `observe` on a raw `/allexecutors` payload; throws (and changes nothing) if not a list. */
  observeJson(appId: string, json: unknown): Sample[] {
    return this.observe(appId, executorStates(json));
  }

  /** Forgets every application not in `appIds` (ended, or no longer among those read). */
  retainApps(appIds: readonly string[]): void {
    const keep = new Set(appIds);
    for (const id of [...this.apps.keys()]) if (!keep.has(id)) this.apps.delete(id);
  }

  /** Applications tracked now (memory bound checks). */
  get trackedApps(): number {
    return this.apps.size;
  }

  /** Dead executor ids remembered for `appId` (memory bound checks). */
  rememberedDead(appId: string): number {
    return this.apps.get(appId)?.dead.size ?? 0;
  }

  private evictOverflow(): void {
    // Map keeps insertion order: the application first read longest ago goes first.
    while (this.apps.size > this.maxApps) {
      const oldest = this.apps.keys().next().value;
      if (oldest === undefined) break;
      this.apps.delete(oldest);
    }
  }
}
