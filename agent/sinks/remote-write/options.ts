/** The remote-write sink's settings, as its table entry (index.ts) parses them. */
export interface RemoteWriteConfig {
  url: string;
  /** Parent directory; the queue lives in a subdirectory named after the URL. */
  queueDir: string;
  queueMaxBytes: number;
  queueMaxAgeMs: number;
  maxSamplesPerSend: number;
}
