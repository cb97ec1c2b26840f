/**
 * `@kimberlite/client`: a pooled, pipelined, failover-aware client for Kimberlite clusters,
 * running on libkimberlite through an N-API addon.
 *
 * Ids and offsets are `bigint`; events are `Buffer` (or any `Uint8Array`). Every network call
 * returns a Promise and never blocks the event loop. Argument mistakes reject with `TypeError`
 * or `RangeError`; everything the library or the server refuses rejects with
 * {@link KimberliteError}.
 *
 * @example
 * ```ts
 * import { Client, DataClass } from '@kimberlite/client';
 * const client = await Client.connect({ addresses: ['localhost:5432'], tenantId: 1n });
 * const streamId = await client.createStream('events', DataClass.NonPHI);
 * const offset = await client.append(streamId, [Buffer.from('hello')]);
 * await client.disconnect();
 * ```
 *
 * @packageDocumentation
 */

/// <reference types="node" />

/** Data classes of a stream, in wire order. `NonPHI` is another name for `Public`. */
export declare const DataClass: {
  readonly PHI: 0;
  readonly Deidentified: 1;
  readonly PII: 2;
  readonly Sensitive: 3;
  readonly PCI: 4;
  readonly Financial: 5;
  readonly Confidential: 6;
  readonly Public: 7;
  readonly NonPHI: 7;
};
/** One of the {@link DataClass} values. */
export type DataClass = (typeof DataClass)[keyof typeof DataClass];

/**
 * Options of {@link Client.connect}. Durations are milliseconds. Unset options take the
 * library's defaults (shown). An unknown or misspelled name (such as `tenantID`) is a TypeError.
 */
export interface ConnectOptions {
  /** Seed addresses, `"host:port"`. The client connects to any that answers and finds the leader. */
  addresses: string[] | string;
  /** The tenant every request is made for. Default `0n`. */
  tenantId?: bigint | undefined;
  /** Token sent in every connection's handshake. Default: none. */
  authToken?: string | undefined;
  /** Bound on one dial plus handshake. Default 5000; must be > 0. */
  connectTimeoutMs?: number | undefined;
  /** Deadline of one whole call (connection, redirects, retries). Default 30000; must be > 0. */
  requestTimeoutMs?: number | undefined;
  /** Connections kept open per node even when idle. Default 1; must be <= maxConnsPerNode. */
  minIdleConnsPerNode?: number | undefined;
  /** Cap on open connections per node. Default 4; 1 to 1024. */
  maxConnsPerNode?: number | undefined;
  /** Cap on requests in flight on one connection. Default 256; 1 to 65536. */
  maxInFlightPerConn?: number | undefined;
  /** An idle connection older than this is closed. Default 3600000 (1 h); 0 means no limit. */
  maxConnLifetimeMs?: number | undefined;
  /** Random extra lifetime, up to this. Default 300000 (5 min); 0 disables the jitter. */
  maxConnLifetimeJitterMs?: number | undefined;
  /** Close connections idle this long (above the minimum). Default 300000; 0 means never. */
  maxConnIdleTimeMs?: number | undefined;
  /** Background health check period. Default 2000; 0 disables background checks. */
  healthCheckPeriodMs?: number | undefined;
  /** TCP keep-alive period. Default 15000; 0 uses the OS default; `false` disables keep-alive. */
  keepAliveMs?: number | false | undefined;
  /** Cap on concurrent dials to one node. Default 2; 1 to 1024. */
  maxDialsPerNode?: number | undefined;
  /** Most attempts one call makes, the first included. Default 8; 1 disables retries. */
  retryMaxAttempts?: number | undefined;
  /** First backoff between attempts (exponential, full jitter). Default 20; must be > 0. */
  retryInitialBackoffMs?: number | undefined;
  /** Largest backoff between attempts. Default 1000. */
  retryMaxBackoffMs?: number | undefined;
  /** Retries are capped at this share of recent calls. Default 0.2; 0..10. */
  retryBudgetRatio?: number | undefined;
  /** Retries per second always allowed. Default 10. */
  retryBudgetMinPerSec?: number | undefined;
  /** NotLeader hints one attempt follows. Default 3. */
  maxRedirects?: number | undefined;
  /** Where reads go: `"leader"` (linearizable, default) or `"anyHealthy"` (may lag). */
  readFrom?: 'leader' | 'anyHealthy' | undefined;
  /** Most events in one request coalesced from concurrent appends to one stream. Default 1024. */
  appendBatchMaxEvents?: number | undefined;
  /** Most payload bytes in one coalesced request. Default 4194304 (4 MiB). */
  appendBatchMaxBytes?: number | undefined;
}

/** Options of {@link Client.append}. */
export interface AppendOptions {
  /**
   * Optimistic concurrency: the append succeeds only if the stream's length equals this, else it
   * rejects with code `KMB_ERR_OFFSET_MISMATCH`. Omit it to append at the end.
   */
  expectedOffset?: bigint | undefined;
}

/** Options of {@link Client.read} and {@link Client.readAll}. */
export interface ReadOptions {
  /** First offset to read. Default `0n`. */
  fromOffset?: bigint | undefined;
  /** About this many payload bytes per read (at least one event when any exists); 0: 1 MiB. */
  maxBytes?: number | bigint | undefined;
}

/** One event of a stream. */
export interface StreamEvent {
  /** Its offset in the stream. */
  offset: bigint;
  /** Its bytes (a copy, owned by JavaScript). */
  data: Buffer;
}

/** The result of {@link Client.read}. */
export interface ReadResult {
  events: StreamEvent[];
  /** Where to read next: fromOffset + events.length. */
  nextOffset: bigint;
  /** Whether more events may follow (read again from nextOffset). */
  hasMore: boolean;
}

/** What a server says about itself ({@link Client.serverInfo}). */
export interface ServerInfo {
  buildVersion: string;
  /** The wire protocol version, 5. */
  protocolVersion: number;
  capabilities: string[];
  uptimeSecs: bigint;
  clusterMode: 'standalone' | 'clustered';
  tenantCount: number;
}

/** Counters of one node pool, as in {@link ClientStats.nodes}. */
export interface NodeStats {
  address: string;
  /** "leader", "follower", "unknown", or "down" (failed its last check or dial). */
  role: string;
  healthy: boolean;
  openConns: number;
  idleConns: number;
  inFlight: number;
  dials: number;
  dialFailures: number;
}

/** A snapshot of the client's counters ({@link Client.stats}), keys in camelCase. */
export interface ClientStats {
  nodes: NodeStats[];
  leader: string;
  leaderView: number;
  /** Calls per operation name. */
  operations: Record<string, number>;
  /** Failures per kind, e.g. `{ StreamNotFound: 1 }`. */
  errors: Record<string, number>;
  retries: number;
  redirects: number;
  leaderChanges: number;
  latencyP50Ns: number;
  latencyP90Ns: number;
  latencyP99Ns: number;
  latencyMaxNs: number;
}

/** A log record of the library ({@link Client} event 'log'). */
export interface LogRecord {
  level: 'debug' | 'info' | 'warn' | 'error';
  /** One line: "kimberlite: <what> key=value ...". */
  message: string;
}

/** The events a {@link Client} emits, on the JS thread, never blocking it. */
export interface ClientEvents {
  /** A node was found to lead: its client address, the previous leader ("" if none) and the view. */
  leaderChange: [{ leader: string; previous: string; view: bigint }];
  /** A node failed a check or dial, or lost every connection. */
  nodeDown: [{ node: string; reason: string }];
  /** A node answered again (or for the first time). */
  nodeUp: [{ node: string }];
  connectionOpen: [{ node: string }];
  connectionClose: [{ node: string; reason: string }];
  /** Log records (dial failures, nodes down/up, leader changes; debug: retries, redirects, health checks), rate-limited. */
  log: [LogRecord];
}

/**
 * A connected client. Create one per application with {@link Client.connect}, share it, and
 * {@link Client.disconnect} it at shutdown. Safe to use from many concurrent async tasks; each
 * worker thread needs its own client.
 */
export declare class Client {
  /** Use {@link Client.connect}; the constructor is not public. */
  private constructor();

  /**
   * Connects to the first address that answers (waiting at most `connectTimeoutMs` per address)
   * and finds the leader from there.
   * @throws TypeError / RangeError for bad options (the message names the option).
   * @throws KimberliteError `KMB_ERR_CONNECTION`, `KMB_ERR_CLUSTER_UNAVAILABLE`, `KMB_ERR_TIMEOUT`,
   *   `KMB_ERR_AUTHENTICATION_FAILED`, `KMB_ERR_INVALID_ARGUMENT` (options that conflict).
   */
  static connect(options: ConnectOptions): Promise<Client>;

  /** Creates a stream, or finds the existing one by name (idempotent). Resolves to its id. */
  createStream(name: string, dataClass: DataClass): Promise<bigint>;

  /**
   * Appends events to a stream atomically and in order; resolves to the first event's offset.
   * Concurrent appends to one stream are coalesced into one request.
   *
   * Exactly once: an acknowledged append is in the stream once and no retry writes it twice.
   * Every request carries an idempotency key; a send whose outcome was lost is re-sent with the
   * same key, and a server announcing `idempotent-append` answers with the original result.
   * Against a server without it (Kimberlite 0.8) the library reads the stream back and compares
   * bytes, which cannot tell these events from identical ones another writer appended at the
   * same offset: make events unique there. Without `expectedOffset`, other writers taking the
   * tail never cause `KMB_ERR_OFFSET_MISMATCH`. An append whose outcome the client cannot learn
   * before its deadline rejects with `KMB_ERR_OUTCOME_UNKNOWN`: read the stream before appending
   * the same events again.
   * @param events one or more events, 16 MiB at most in all.
   */
  append(streamId: bigint, events: ReadonlyArray<Uint8Array>, options?: AppendOptions): Promise<bigint>;

  /**
   * Reads events from one stream. A stream of the client's tenant that does not exist reads as
   * empty; a stream id of another tenant rejects with `KMB_ERR_STREAM_NOT_FOUND`.
   */
  read(streamId: bigint, options?: ReadOptions): Promise<ReadResult>;

  /** Iterates over the events of a stream from `fromOffset` to its current end. */
  readAll(streamId: bigint, options?: ReadOptions): AsyncIterableIterator<StreamEvent>;

  /** The number of events in a stream (its next offset). */
  streamLength(streamId: bigint): Promise<bigint>;

  /** Asks the leader to flush its projections to disk (appends are durable when acknowledged). */
  sync(): Promise<void>;

  /** One round trip to the leader (or any node when no leader is known). */
  ping(): Promise<void>;

  /** What the leader (or a node) says about itself. */
  serverInfo(): Promise<ServerInfo>;

  /** A snapshot of the client's counters; no network traffic. Throws after disconnect. */
  stats(): ClientStats;

  /** The client's counters, gauges and latency histograms in the Prometheus text format (no network traffic). */
  metricsText(): string;

  /** Listens to a client event ({@link ClientEvents}); the Client is an EventEmitter. */
  on<K extends keyof ClientEvents>(event: K, listener: (...args: ClientEvents[K]) => void): this;
  once<K extends keyof ClientEvents>(event: K, listener: (...args: ClientEvents[K]) => void): this;
  off<K extends keyof ClientEvents>(event: K, listener: (...args: ClientEvents[K]) => void): this;
  addListener<K extends keyof ClientEvents>(event: K, listener: (...args: ClientEvents[K]) => void): this;
  removeListener<K extends keyof ClientEvents>(event: K, listener: (...args: ClientEvents[K]) => void): this;
  removeAllListeners(event?: keyof ClientEvents): this;
  listenerCount(event: keyof ClientEvents): number;

  /** Whether {@link Client.disconnect} has been called. */
  readonly closed: boolean;

  /**
   * Closes every connection and library thread of the client. Calls in flight reject with
   * `KMB_ERR_CLOSED`, later calls at once. Idempotent: every call returns the same Promise.
   */
  disconnect(): Promise<void>;
}

/**
 * A failure reported by the library or the server. `code` is the library's status name;
 * decide on `code` or `retryable`, never on the message text.
 */
export declare class KimberliteError extends Error {
  constructor(
    message: string,
    info?: { code?: string; serverCode?: number; requestId?: bigint; retryable?: boolean },
  );
  /** The status name, e.g. `"KMB_ERR_STREAM_NOT_FOUND"`, `"KMB_ERR_CONNECTION"`, `"KMB_ERR_CLOSED"`. */
  code: string;
  /** The server's wire error code when the server answered with an error, else undefined. */
  serverCode: number | undefined;
  /** The id of the last request sent for the failing call, else undefined. */
  requestId: bigint | undefined;
  /** Whether the same call may be made again with a chance of success. */
  retryable: boolean;
}

/** The version of the native library the addon runs on, e.g. `"0.1.0"`. Loads the addon. */
export declare function libraryVersion(): string;
