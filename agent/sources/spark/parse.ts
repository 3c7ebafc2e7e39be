/**
 * Pure parsers: Spark REST API JSON (/api/v1, see Spark's monitoring docs and
 * `org.apache.spark.status.api.v1`) → samples in base units (milliseconds → seconds), every
 * one labelled with `spark_app_id`, per-executor ones with `executor_id`. Labels stay bounded:
 * statuses, executor ids, Databricks job/run ids — never Spark job ids, stage ids or names.
 * A field Spark did not send (or sent as null) is left out rather than reported as 0. A field of
 * the wrong type (`"5"`, `"NaN"`, `true`) is a malformed payload: the endpoint fails, naming the
 * field, instead of reading as a silent 0 (a busy driver would look idle and the agent would
 * slow to its idle interval). A negative count is left out and counted in
 * dbx_agent_spark_values_left_out: Spark's own task counters go below zero when its status
 * listener drops events (AppStatusListener decrements activeTasks without a floor), and one such
 * executor must not take the whole endpoint down with it.
 */
import { counter, gauge, type Labels, type Sample } from '../../core/sample';
import { jobRunOf } from './job-group';

// ---- applications -------------------------------------------------------------------------

export interface SparkApp {
  id: string;
  running: boolean;
}

export function asObject(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

export function asArray(json: unknown, what: string): unknown[] {
  if (!Array.isArray(json)) throw new Error(`${what}: expected a JSON array, got ${json === null ? 'null' : typeof json}`);
  return json;
}

export class MalformedPayloadError extends Error {
  constructor(readonly field: string, value: unknown, expected = 'a number') {
    super(`malformed payload: ${field} is ${JSON.stringify(value)?.slice(0, 40) ?? String(value)}, not ${expected}`);
    this.name = 'MalformedPayloadError';
  }
}

/**
 * Spark's JSON date (JacksonMessageWriter: yyyy-MM-dd'T'HH:mm:ss.SSS'GMT'); `Z` or an offset as
 * a proxy might rewrite it, and up to nanoseconds (only milliseconds are kept).
 */
const SPARK_DATE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(GMT|Z|[+-]\d{2}:?\d{2})$/;

/**
 * A date of Spark's JSON ("2015-02-03T16:43:00.906GMT") as epoch milliseconds; undefined when
 * Spark sent none (an Option it leaves out, or null). Anything else is a malformed payload.
 */
export function sparkDateMs(v: unknown, field: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  const m = typeof v === 'string' ? SPARK_DATE.exec(v) : null;
  const bad = (): MalformedPayloadError => new MalformedPayloadError(field, v, 'a date like 2015-02-03T16:43:00.906GMT');
  if (!m) throw bad();
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const ms = Date.UTC(y, mo - 1, d, h, mi, s, m[7] ? Number(m[7].slice(0, 3).padEnd(3, '0')) : 0);
  const check = new Date(ms);
  if (check.getUTCFullYear() !== y || check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) throw bad();
  const zone = m[8]!;
  if (zone === 'GMT' || zone === 'Z') return ms;
  const digits = zone.slice(1).replace(':', '');
  const offsetMin = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2));
  return ms - (zone.startsWith('-') ? -1 : 1) * offsetMin * 60_000;
}

export const valuesLeftOut = gauge(
  'dbx_agent_spark_values_left_out',
  'Values left out of the last read of a Spark endpoint because Spark sent a negative count (its task counters drop below zero when its listener loses events).',
);

/**
 * Reads counts: a non-negative number as it is, undefined when Spark sent none or a negative
 * one (named in `fields`); anything that is not a number throws.
 */
/**
 * A count as Spark sends one: a non-negative number as it is, undefined when absent or null, and
 * undefined for a negative one (named in `leftOut`); any other type is a malformed payload.
 */
export function readCount(v: unknown, field: string, leftOut: { push(field: string): unknown }): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new MalformedPayloadError(field, v);
  if (v >= 0) return v;
  leftOut.push(field);
  return undefined;
}

function countReader(): { count(v: unknown, field: string): number | undefined; readonly fields: string[] } {
  // By field name: a value read twice (for a total and for its own series) is one value.
  const negative = new Set<string>();
  const leftOut = { push: (field: string) => negative.add(field) };
  return {
    get fields() {
      return [...negative];
    },
    count: (v, field) => readCount(v, field, leftOut),
  };
}

/**
 * `/api/v1/applications`. An application is running while its last attempt is not completed
 * (Spark's `ApplicationAttemptInfo.completed`); the live UI lists just its own application.
 */
export function parseApplications(json: unknown): SparkApp[] {
  const out: SparkApp[] = [];
  for (const item of asArray(json, 'applications')) {
    const app = asObject(item);
    if (!app || typeof app.id !== 'string' || app.id === '') continue;
    const attempts = Array.isArray(app.attempts) ? app.attempts.map(asObject) : [];
    const last = attempts[attempts.length - 1];
    const running = last === undefined ? true : last.completed !== true;
    out.push({ id: app.id, running });
  }
  return out;
}

export function runningApplications(json: unknown): string[] {
  return parseApplications(json)
    .filter((a) => a.running)
    .map((a) => a.id);
}

// ---- executors ----------------------------------------------------------------------------

export const executors = gauge('spark_executors', 'Spark executors by state (active or dead; the driver is not counted; dead ones as retained by spark.ui.retainedDeadExecutors).');
export const executorCoresTotal = gauge('spark_executor_cores', 'Cores of the active executors together (the driver counts only in local mode, where it runs tasks).');
export const activeTasks = gauge('spark_active_tasks', 'Tasks running now in the application, over all active executors.');
export const failedTasks = counter('spark_failed_tasks_total', 'Failed tasks of the application, over all executors Spark still lists.');
export const completedTasks = counter('spark_completed_tasks_total', 'Completed tasks of the application, over all executors Spark still lists.');

export const execMemoryUsed = gauge('spark_executor_memory_used_bytes', 'Storage memory used by an executor (cached blocks), in bytes.');
export const execMaxMemory = gauge('spark_executor_max_memory_bytes', 'Storage memory available to an executor, in bytes.');
export const execDiskUsed = gauge('spark_executor_disk_used_bytes', 'Disk used by an executor for cached blocks, in bytes.');
export const execActiveTasks = gauge('spark_executor_active_tasks', 'Tasks running now on an executor.');
export const execMaxTasks = gauge('spark_executor_max_tasks', 'Tasks an executor can run at once (its task slots).');
export const execFailedTasks = counter('spark_executor_failed_tasks_total', 'Failed tasks of an executor.');
export const execCompletedTasks = counter('spark_executor_completed_tasks_total', 'Completed tasks of an executor.');
export const execDuration = counter('spark_executor_duration_seconds_total', 'Time an executor spent running tasks, in seconds.');
export const execGc = counter('spark_executor_gc_seconds_total', 'JVM garbage collection time of an executor, in seconds.');
export const execShuffleRead = counter('spark_executor_shuffle_read_bytes_total', 'Shuffle bytes read by an executor.');
export const execShuffleWrite = counter('spark_executor_shuffle_write_bytes_total', 'Shuffle bytes written by an executor.');
export const execInput = counter('spark_executor_input_bytes_total', 'Input bytes read by an executor.');
export const execStorageUsed = gauge('spark_executor_storage_memory_used_bytes', 'Storage memory used by an executor, by area (on_heap or off_heap), in bytes.');
export const execStorageTotal = gauge('spark_executor_storage_memory_total_bytes', 'Storage memory of an executor, by area (on_heap or off_heap), in bytes.');
export const execHeapPeak = gauge('spark_executor_jvm_heap_peak_bytes', 'Peak JVM heap used by an executor since it started, in bytes (Spark peakMemoryMetrics).');
export const execOffHeapPeak = gauge('spark_executor_jvm_off_heap_peak_bytes', 'Peak JVM off-heap memory used by an executor since it started, in bytes (Spark peakMemoryMetrics).');

export const driverStorageUsed = gauge('spark_driver_storage_memory_used_bytes', 'Storage memory used by the driver (cached blocks), in bytes.');
export const driverStorageMax = gauge('spark_driver_storage_memory_max_bytes', 'Storage memory available to the driver, in bytes.');
export const driverHeapPeak = gauge('spark_driver_jvm_heap_peak_bytes', 'Peak JVM heap used by the driver since it started, in bytes (Spark peakMemoryMetrics).');
export const driverOffHeapPeak = gauge('spark_driver_jvm_off_heap_peak_bytes', 'Peak JVM off-heap memory used by the driver since it started, in bytes (Spark peakMemoryMetrics).');

const DRIVER_ID = 'driver';

/**
 * `/api/v1/applications/<app>/allexecutors` (or `/executors`, active ones only): counts and
 * totals for the application, per-executor series for the active ones (the driver's entry
 * included, with executor_id="driver"), and the driver's own memory. The fields left out for a
 * negative count are added to `leftOut` when given.
 */
export function parseExecutors(json: unknown, appId: string, leftOut?: string[]): Sample[] {
  const app: Labels = { spark_app_id: appId };
  const out: Sample[] = [];
  let active = 0;
  let dead = 0;
  let cores = 0;
  let running = 0;
  let failed = 0;
  let completed = 0;
  const counts = countReader();
  for (const e of executorEntries(json)) {
    const id = e.id as string;
    const isDriver = id === DRIVER_ID;
    if (e.isActive !== undefined && e.isActive !== null && typeof e.isActive !== 'boolean')
      throw new MalformedPayloadError(`executor ${id} isActive`, e.isActive, 'true or false');
    const isActive = e.isActive !== false;
    const field = (name: string): string => `executor ${id} ${name}`;
    const n = (v: unknown, name: string): number | undefined => counts.count(v, field(name));
    failed += n(e.failedTasks, 'failedTasks') ?? 0;
    completed += n(e.completedTasks, 'completedTasks') ?? 0;
    if (!isDriver) {
      if (isActive) active++;
      else dead++;
    }
    if (!isActive) continue;
    cores += n(e.totalCores, 'totalCores') ?? 0;
    running += n(e.activeTasks, 'activeTasks') ?? 0;
    out.push(...activeExecutorSamples(e, id, app, n));
  }
  out.unshift(
    executors({ ...app, state: 'active' }, active),
    executors({ ...app, state: 'dead' }, dead),
    executorCoresTotal(app, cores),
    activeTasks(app, running),
    failedTasks(app, failed),
    completedTasks(app, completed),
  );
  const negative = counts.fields;
  out.push(valuesLeftOut({ ...app, endpoint: 'executors' }, negative.length));
  leftOut?.push(...negative);
  return out;
}

/** Spark's entries with an id, validated, the driver first and then executors by number (a cap then keeps the same executors every cycle). */
function executorEntries(json: unknown): Record<string, unknown>[] {
  const entries = asArray(json, 'executors')
    .map(asObject)
    .filter((e, i): e is Record<string, unknown> => {
      if (e === undefined || e.id === undefined || e.id === null) return false;
      // Spark's ExecutorSummary.id is a string: another type is not one to guess at.
      if (typeof e.id !== 'string') throw new MalformedPayloadError(`executor entry ${i} id`, e.id, 'a string');
      return true;
    });
  return entries.sort((a, b) => executorOrder(a.id as string) - executorOrder(b.id as string) || String(a.id).localeCompare(String(b.id)));
}

/** The per-executor series of an active executor (and, for the driver's entry, the driver's memory). */
function activeExecutorSamples(e: Record<string, unknown>, id: string, app: Labels, n: (v: unknown, name: string) => number | undefined): Sample[] {
  const out: Sample[] = [];
  const isDriver = id === DRIVER_ID;
  const l: Labels = { ...app, executor_id: id };
  const put = (f: (l: Labels, v: number) => Sample, from: Record<string, unknown>, name: string, divisor = 1, labels: Labels = l): void => {
    const v = n(from[name], name);
    if (v !== undefined) out.push(f(labels, divisor === 1 ? v : v / divisor));
  };
  put(execMemoryUsed, e, 'memoryUsed');
  put(execMaxMemory, e, 'maxMemory');
  put(execDiskUsed, e, 'diskUsed');
  put(execActiveTasks, e, 'activeTasks');
  put(execMaxTasks, e, 'maxTasks');
  put(execFailedTasks, e, 'failedTasks');
  put(execCompletedTasks, e, 'completedTasks');
  put(execDuration, e, 'totalDuration', 1000); // ms
  put(execGc, e, 'totalGCTime', 1000); // ms
  put(execShuffleRead, e, 'totalShuffleRead');
  put(execShuffleWrite, e, 'totalShuffleWrite');
  put(execInput, e, 'totalInputBytes');
  const mem = asObject(e.memoryMetrics);
  if (mem) {
    put(execStorageUsed, mem, 'usedOnHeapStorageMemory', 1, { ...l, area: 'on_heap' });
    put(execStorageUsed, mem, 'usedOffHeapStorageMemory', 1, { ...l, area: 'off_heap' });
    put(execStorageTotal, mem, 'totalOnHeapStorageMemory', 1, { ...l, area: 'on_heap' });
    put(execStorageTotal, mem, 'totalOffHeapStorageMemory', 1, { ...l, area: 'off_heap' });
  }
  const peak = asObject(e.peakMemoryMetrics);
  if (peak) {
    put(execHeapPeak, peak, 'JVMHeapMemory');
    put(execOffHeapPeak, peak, 'JVMOffHeapMemory');
  }
  if (isDriver) {
    put(driverStorageUsed, e, 'memoryUsed', 1, app);
    put(driverStorageMax, e, 'maxMemory', 1, app);
    if (peak) {
      put(driverHeapPeak, peak, 'JVMHeapMemory', 1, app);
      put(driverOffHeapPeak, peak, 'JVMOffHeapMemory', 1, app);
    }
  }
  return out;
}

function executorOrder(id: string): number {
  if (id === DRIVER_ID) return -1;
  return /^\d+$/.test(id) ? Number(id) : Number.MAX_SAFE_INTEGER;
}

// ---- jobs ---------------------------------------------------------------------------------

export const jobs = gauge('spark_jobs', 'Spark jobs by status (running, succeeded, failed, unknown), as retained by spark.ui.retainedJobs.');
export const jobActiveTasks = gauge('spark_job_active_tasks', 'Tasks running now in the running Spark jobs together.');
export const dbxJobRunningSparkJobs = gauge('spark_databricks_job_running_spark_jobs', 'Running Spark jobs of a Databricks job run (job_id, run_id from the Spark job group).');
export const dbxJobActiveTasks = gauge('spark_databricks_job_active_tasks', 'Tasks running now for a Databricks job run (job_id, run_id from the Spark job group).');
export const dbxJobFailedTasks = gauge('spark_databricks_job_failed_tasks', 'Failed tasks in the running Spark jobs of a Databricks job run.');

const JOB_STATUSES = ['running', 'succeeded', 'failed', 'unknown'] as const;

/**
 * `/api/v1/applications/<app>/jobs`: counts by status and the running Databricks job runs. The
 * fields left out for a negative count are added to `leftOut` when given.
 */
export function parseJobs(json: unknown, appId: string, leftOut?: string[]): Sample[] {
  const app: Labels = { spark_app_id: appId };
  const byStatus = new Map<string, number>(JOB_STATUSES.map((s) => [s, 0]));
  const counts = countReader();
  let runningTasks = 0;
  const runs = new Map<string, { jobId: string; runId: string; jobs: number; active: number; failed: number }>();
  for (const item of asArray(json, 'jobs')) {
    const job = asObject(item);
    if (!job) continue;
    const raw = typeof job.status === 'string' ? job.status.toLowerCase() : 'unknown';
    const status = (JOB_STATUSES as readonly string[]).includes(raw) ? raw : 'unknown';
    byStatus.set(status, byStatus.get(status)! + 1);
    if (status !== 'running') continue;
    const jobField = (name: string): string => `job ${typeof job.jobId === 'number' ? job.jobId : '?'} ${name}`;
    const activeHere = counts.count(job.numActiveTasks, jobField('numActiveTasks')) ?? 0;
    const failedHere = counts.count(job.numFailedTasks, jobField('numFailedTasks')) ?? 0;
    runningTasks += activeHere;
    const run = jobRunOf(job);
    if (!run) continue;
    const k = `${run.jobId}/${run.runId}`;
    const r = runs.get(k) ?? { ...run, jobs: 0, active: 0, failed: 0 };
    r.jobs++;
    r.active += activeHere;
    r.failed += failedHere;
    runs.set(k, r);
  }
  const out: Sample[] = [...byStatus].map(([status, n]) => jobs({ ...app, status }, n));
  out.push(jobActiveTasks(app, runningTasks));
  for (const r of runs.values()) {
    const l = { ...app, job_id: r.jobId, run_id: r.runId };
    out.push(dbxJobRunningSparkJobs(l, r.jobs), dbxJobActiveTasks(l, r.active), dbxJobFailedTasks(l, r.failed));
  }
  const negative = counts.fields;
  out.push(valuesLeftOut({ ...app, endpoint: 'jobs' }, negative.length));
  leftOut?.push(...negative);
  return out;
}

// ---- stages -------------------------------------------------------------------------------

export const stages = gauge('spark_stages', 'Spark stages by status (active, pending, failed; complete and skipped are not fetched: they pile up).');

/** The statuses the source asks Spark for (`?status=`): the ones that stay few. */
export const STAGE_STATUSES = ['active', 'pending', 'failed'] as const;

/**
 * `/api/v1/applications/<app>/stages?status=...`: counts by status. Only `statuses` are
 * reported (each, 0 when none), so a server that ignores the filter changes nothing.
 */
export function parseStages(json: unknown, appId: string, statuses: readonly string[] = STAGE_STATUSES): Sample[] {
  const counts = new Map<string, number>(statuses.map((s) => [s, 0]));
  for (const item of asArray(json, 'stages')) {
    const stage = asObject(item);
    const status = typeof stage?.status === 'string' ? stage.status.toLowerCase() : undefined;
    if (status !== undefined && counts.has(status)) counts.set(status, counts.get(status)! + 1);
  }
  return [...counts].map(([status, n]) => stages({ spark_app_id: appId, status }, n));
}

// ---- cardinality cap ----------------------------------------------------------------------

/**
 * Keeps per-executor series (those with an executor_id label) up to `max`, whole executors at
 * a time in the order given (driver first), so a kept executor is never half reported.
 * Returns what was kept and how many series were cut.
 */
export function capExecutorSeries(samples: readonly Sample[], max: number): { kept: Sample[]; dropped: number } {
  const perExecutor = new Map<string, number>();
  for (const s of samples) {
    const id = s.labels.executor_id;
    if (id === undefined) continue;
    const k = `${s.labels.spark_app_id ?? ''}\u0000${id}`;
    perExecutor.set(k, (perExecutor.get(k) ?? 0) + 1);
  }
  const allowed = new Set<string>();
  let used = 0;
  for (const [k, n] of perExecutor) {
    if (used + n > max) break;
    allowed.add(k);
    used += n;
  }
  const kept: Sample[] = [];
  let dropped = 0;
  for (const s of samples) {
    const id = s.labels.executor_id;
    if (id === undefined || allowed.has(`${s.labels.spark_app_id ?? ''}\u0000${id}`)) kept.push(s);
    else dropped++;
  }
  return { kept, dropped };
}
