/** Who this node is (read by databricks/context.ts): every component labels and decides by it. */
export type Role = 'driver' | 'worker';

export interface DatabricksContext {
  onDatabricks: boolean;
  clusterId: string;
  clusterName: string;
  node: string;
  nodeIp: string;
  role: Role;
  instanceType: string;
  driverIp: string;
  isJobCluster: boolean;
  runtimeVersion: string;
  jobId?: string;
  runId?: string;
}
