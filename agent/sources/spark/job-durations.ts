/**
 * `spark_job_duration_seconds`: how long Spark jobs took, for the jobs that finished after the
 * agent started, each counted once (DESIGN "finished things are counted once"), read from the
 * `/jobs` list the source reads every cycle anyway. Pure apart from the tracker's state.
 *
 * Facts it stands on (paths in apache/spark):
 *  - `JobData` (core/.../status/api/v1/api.scala): jobId, status (JobExecutionStatus: RUNNING,
 *    SUCCEEDED, FAILED, UNKNOWN), submissionTime and completionTime (Options, left out of the
 *    JSON when None), jobGroup, jobTags. Dates as "2015-02-03T16:43:00.906GMT"
 *    (JacksonMessageWriter.makeISODateFormat). The duration is completionTime - submissionTime,
 *    as the Spark UI's jobs page shows it.
 *  - completionTime is the job end event's time (AppStatusListener.onJobEnd); finished jobs are
 *    dropped oldest completion first past spark.ui.retainedJobs (AppStatusListener.cleanupJobs),
 *    and the listener records jobs in the order they end.
 *  - Spark's own test expectations (HistoryServerExpectations/job_list_json_expectation.json)
 *    carry no dates (event logs older than job times): a finished job without completionTime is
 *    not counted, one without submissionTime is counted nowhere (no duration).
 *
 * Labels: `status` (succeeded, failed), and `job_id`/`run_id` when the Spark job belongs to a
 * Databricks job run (job-group.ts). Run label sets are kept for the most recently active
 * runs only (maxRuns): past that, the run quiet longest loses its series, so an all-purpose
 * cluster that runs job after job does not grow its series without end; a job of a run that
 * finds no room (more runs active at once than maxRuns) is observed without run labels.
 */
import { histogram, HistogramSet, type Labels, type Sample } from '../../core/sample';
import { jobRunOf, type JobRun } from './job-group';
import { asObject, MalformedPayloadError, sparkDateMs } from './parse';

/** From sub-second Spark jobs (most SQL jobs) to hours (a long batch). */
export const JOB_DURATION_BUCKETS = [0.1, 0.5, 1, 5, 10, 30, 60, 300, 600, 1800, 3600, 7200] as const;

export const jobDuration = histogram(
  'spark_job_duration_seconds',
  'Duration of the Spark jobs that finished since the agent started (completion - submission), each counted once, by status (succeeded, failed); with job_id and run_id when the Spark job belongs to a Databricks job run.',
  JOB_DURATION_BUCKETS,
);

export type JobStatus = 'running' | 'succeeded' | 'failed' | 'unknown';
const STATUSES: readonly string[] = ['running', 'succeeded', 'failed', 'unknown'];
const FINISHED = ['succeeded', 'failed'] as const;

export interface SparkJob {
  readonly jobId: number;
  /** undefined for a status this agent does not know: ignored. */
  readonly status: JobStatus | undefined;
  readonly submissionMs: number | undefined;
  readonly completionMs: number | undefined;
  readonly run: JobRun | undefined;
}

/**
 * A `/jobs` payload, strictly: a list of objects with an integer jobId, a string status and
 * Spark's dates (on finished jobs). Throws MalformedPayloadError on anything else.
 */
export function parseJobList(json: unknown): SparkJob[] {
  if (!Array.isArray(json)) throw new MalformedPayloadError('jobs', json, 'a JSON array');
  return json.map((item, i): SparkJob => {
    const j = asObject(item);
    if (!j) throw new MalformedPayloadError(`jobs entry ${i}`, item, 'an object');
    if (typeof j.jobId !== 'number' || !Number.isSafeInteger(j.jobId) || j.jobId < 0)
      throw new MalformedPayloadError(`jobs entry ${i} jobId`, j.jobId, 'a non-negative integer');
    const jobId = j.jobId;
    if (typeof j.status !== 'string') throw new MalformedPayloadError(`job ${jobId} status`, j.status, 'a string');
    const lower = j.status.toLowerCase();
    const status = STATUSES.includes(lower) ? (lower as JobStatus) : undefined;
    const finished = status === 'succeeded' || status === 'failed';
    return {
      jobId,
      status,
      submissionMs: finished ? sparkDateMs(j.submissionTime, `job ${jobId} submissionTime`) : undefined,
      completionMs: finished ? sparkDateMs(j.completionTime, `job ${jobId} completionTime`) : undefined,
      run: jobRunOf(j),
    };
  });
}

export interface JobDurationsOptions {
  /** When the agent started (epoch ms): jobs that finished before it are Spark's retained past. */
  startedAtMs: number;
  /** Databricks job runs with their own label sets at most (the most recently active ones). */
  maxRuns?: number;
  /** Counted job ids remembered at most (Spark lists spark.ui.retainedJobs, 1000 by default). */
  maxRemembered?: number;
}

export const DEFAULT_MAX_RUNS = 16;
export const DEFAULT_MAX_REMEMBERED = 10_000;

/**
 * Observes each Spark job once, when first seen finished, if it finished at or after
 * `startedAtMs`. Memory: the ids it counted that Spark still lists (at most maxRemembered),
 * one number, and the histograms of at most maxRuns runs plus the two statuses without a run.
 * One instance per Spark application (job ids are per SparkContext).
 */
export class JobDurations {
  private readonly startedAtMs: number;
  private readonly maxRuns: number;
  private readonly maxRemembered: number;
  /** Ids counted that the last list still showed → their completion time. */
  private counted = new Map<number, number>();
  /** No job completed at or before this is counted: the latest counted job forgotten. */
  private floorMs = -Infinity;
  private readonly plain = new HistogramSet(jobDuration);
  /** Per run (`jobId/runId`), least recently active first, with the cycle it was last active in. */
  private readonly runs = new Map<string, { set: HistogramSet; cycle: number }>();
  private cycle = 0;

  constructor(opts: JobDurationsOptions) {
    this.startedAtMs = opts.startedAtMs;
    this.maxRuns = Math.max(1, opts.maxRuns ?? DEFAULT_MAX_RUNS);
    this.maxRemembered = Math.max(1, opts.maxRemembered ?? DEFAULT_MAX_REMEMBERED);
  }

  /**
   * One cycle's `/jobs` payload; returns the histogram series, both statuses from the first
   * call at 0 (a run's from when it is first seen). A malformed payload throws and changes
   * nothing.
   */
  observe(jobsJson: unknown, labels: Labels): Sample[] {
    const jobs = parseJobList(jobsJson);
    this.cycle++;
    for (const s of FINISHED) this.plain.touch({ ...labels, status: s });
    const next = new Map<number, number>();
    // Oldest first, so runs active in the same cycle keep their order of activity.
    for (const job of [...jobs].sort((a, b) => a.jobId - b.jobId)) {
      if (job.status === 'running' && job.run) this.runSet(job.run, labels);
      if (job.status !== 'succeeded' && job.status !== 'failed') continue;
      const c = job.completionMs;
      if (this.counted.has(job.jobId)) next.set(job.jobId, this.counted.get(job.jobId)!);
      else if (c !== undefined && c >= this.startedAtMs && c > this.floorMs) {
        next.set(job.jobId, c);
        this.record(job, job.status, labels);
      }
    }
    this.remember(next);
    return [...this.plain.samples(), ...[...this.runs.values()].flatMap((r) => r.set.samples())];
  }

  /** Memory bound checks: job ids remembered, runs with label sets. */
  get remembered(): { jobs: number; runs: number } {
    return { jobs: this.counted.size, runs: this.runs.size };
  }

  private record(job: SparkJob, status: 'succeeded' | 'failed', labels: Labels): void {
    const seconds = job.submissionMs === undefined ? undefined : (job.completionMs! - job.submissionMs) / 1000;
    // No submission time, or a clock that went back: counted as seen, observed nowhere.
    if (seconds === undefined || seconds < 0) return;
    const set = job.run ? this.runSet(job.run, labels) : undefined;
    if (set && job.run) set.observe({ ...labels, status, job_id: job.run.jobId, run_id: job.run.runId }, seconds);
    else this.plain.observe({ ...labels, status }, seconds);
  }

  /**
   * The histograms of one run, made (both statuses at 0) or moved to most recently active. At
   * maxRuns, the run quiet longest makes room; when every run kept was active in this very
   * cycle, there is none (the job is observed without run labels: counted, never lost).
   */
  private runSet(run: JobRun, labels: Labels): HistogramSet | undefined {
    const k = `${run.jobId}/${run.runId}`;
    const known = this.runs.get(k);
    if (known) {
      this.runs.delete(k);
      this.runs.set(k, { set: known.set, cycle: this.cycle });
      return known.set;
    }
    if (this.runs.size >= this.maxRuns) {
      const [oldest, r] = this.runs.entries().next().value as [string, { cycle: number }];
      if (r.cycle === this.cycle) return undefined;
      this.runs.delete(oldest);
    }
    const set = new HistogramSet(jobDuration);
    for (const status of FINISHED) set.touch({ ...labels, status, job_id: run.jobId, run_id: run.runId });
    this.runs.set(k, { set, cycle: this.cycle });
    return set;
  }

  /**
   * Keeps the counted ids Spark still lists (at most maxRemembered, latest completions). A
   * counted job forgotten (Spark dropped it, the list came back short, or past the cap) raises
   * the floor instead: Spark records jobs in the order they end, so a job not yet counted that
   * ended before one already counted cannot turn up later, and one forgotten is never counted
   * again.
   */
  private remember(next: Map<number, number>): void {
    let kept = next;
    if (next.size > this.maxRemembered) {
      const byCompletion = [...next].sort(([, a], [, b]) => b - a);
      kept = new Map(byCompletion.slice(0, this.maxRemembered));
    }
    for (const [id, completionMs] of this.counted) if (!kept.has(id)) this.floorMs = Math.max(this.floorMs, completionMs);
    for (const [id, completionMs] of next) if (!kept.has(id)) this.floorMs = Math.max(this.floorMs, completionMs);
    this.counted = kept;
  }
}
