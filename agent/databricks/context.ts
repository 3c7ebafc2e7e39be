/**
 * Who this node is, from the variables Databricks gives cluster-scoped init scripts
 * (DB_CLUSTER_ID, DB_CLUSTER_NAME, DB_IS_DRIVER, DB_DRIVER_IP, DB_CONTAINER_IP,
 * DB_INSTANCE_TYPE, DB_IS_JOB_CLUSTER, DATABRICKS_RUNTIME_VERSION). The daemon does not
 * inherit the init script's env, so the init script writes these into the agent's env file.
 */
import os from 'node:os';
import type { DatabricksContext } from '../core/context';

export type { DatabricksContext, Role } from '../core/context';

export interface HostFacts {
  hostname: string;
  ip: string;
}

/** Job clusters are named `job-<jobId>-run-<runId>[-suffix]` by Databricks. */
export function parseJobClusterName(name: string): { jobId: string; runId: string } | undefined {
  const m = /^job-(\d+)-run-(\d+)(?:-|$)/.exec(name);
  return m ? { jobId: m[1]!, runId: m[2]! } : undefined;
}

/** Pure: the context from an environment and the host's own facts. */
export function parseContext(env: Record<string, string | undefined>, host: HostFacts): DatabricksContext {
  const clusterId = (env.DB_CLUSTER_ID ?? '').trim();
  const clusterName = env.DB_CLUSTER_NAME ?? '';
  const job = parseJobClusterName(clusterName);
  const isJobCluster = (env.DB_IS_JOB_CLUSTER ?? '').toUpperCase() === 'TRUE' || job !== undefined;
  return {
    onDatabricks: clusterId !== '',
    clusterId,
    clusterName,
    node: host.hostname,
    nodeIp: (env.DB_CONTAINER_IP ?? '').trim() || host.ip,
    // Databricks sets DB_IS_DRIVER=TRUE on the driver only; anything else is a worker.
    role: (env.DB_IS_DRIVER ?? '').trim().toUpperCase() === 'TRUE' ? 'driver' : 'worker',
    instanceType: (env.DB_INSTANCE_TYPE ?? '').trim(),
    driverIp: (env.DB_DRIVER_IP ?? '').trim(),
    isJobCluster,
    runtimeVersion: (env.DATABRICKS_RUNTIME_VERSION ?? '').trim(),
    ...(job ?? {}),
  };
}

/** The first non-internal IPv4 address, else the first non-internal address, else loopback. */
export function primaryIp(interfaces = os.networkInterfaces()): string {
  const all = Object.values(interfaces).flatMap((list) => list ?? []);
  const external = all.filter((a) => !a.internal);
  return (external.find((a) => a.family === 'IPv4') ?? external[0] ?? { address: '127.0.0.1' }).address;
}

export function readContext(env: Record<string, string | undefined>, nodeName?: string): DatabricksContext {
  return parseContext(env, { hostname: nodeName ?? os.hostname(), ip: primaryIp() });
}
