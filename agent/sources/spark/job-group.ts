/**
 * Databricks job runs set the Spark job group to a string containing
 * `job-<jobId>-run-<runId>-action-<n>` (DESIGN "Databricks context"), e.g.
 * `1234567890_5678_job-892813468364452-run-1015563-action-4539451284405985`. Only the job and
 * run ids become labels: bounded by the runs in flight, unlike Spark job or stage ids.
 */
export interface JobRun {
  jobId: string;
  runId: string;
}

const PATTERN = /(?:^|[^0-9A-Za-z])job-(\d+)-run-(\d+)-action-\d+/;

export function parseJobGroup(group: string | undefined | null): JobRun | undefined {
  if (typeof group !== 'string') return undefined;
  const m = PATTERN.exec(group);
  return m ? { jobId: m[1]!, runId: m[2]! } : undefined;
}

/** The run of a Spark job: its job group, else (newer runtimes) one of its job tags. */
export function jobRunOf(job: { jobGroup?: unknown; jobTags?: unknown }): JobRun | undefined {
  const fromGroup = parseJobGroup(typeof job.jobGroup === 'string' ? job.jobGroup : undefined);
  if (fromGroup) return fromGroup;
  if (Array.isArray(job.jobTags))
    for (const t of job.jobTags) {
      const r = parseJobGroup(typeof t === 'string' ? t : undefined);
      if (r) return r;
    }
  return undefined;
}
