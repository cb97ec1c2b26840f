/**
 * `@kimberlite/client`: a pooled, pipelined, failover-aware client for Kimberlite clusters,
 * running on libkimberlite through an N-API addon.
 *
 * Ids and offsets are `bigint`; events are `Buffer` (or any `Uint8Array`). Every network call
 * returns a Promise and never blocks the event loop (unless you ask for the bounded wait of a lone
 * quick call, {@link ConnectOptions.eventLoopWaitMicros}). Argument mistakes reject with `TypeError`
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

/**
 * Data classes of a stream: the official SDK's string values, plus `NonPHI` (the user guide's
 * name for data that is not health information, stored as `Public`).
 */
export declare enum DataClass {
  PHI = 'PHI',
  Deidentified = 'Deidentified',
  PII = 'PII',
  Sensitive = 'Sensitive',
  PCI = 'PCI',
  Financial = 'Financial',
  Confidential = 'Confidential',
  Public = 'Public',
  NonPHI = 'NonPHI',
}

/**
 * Placements of a stream ({@link Client.createStreamWithPlacement}). This server stores every
 * stream globally: only `Global` is accepted.
 */
export declare enum Placement {
  Global = 'Global',
  UsEast1 = 'UsEast1',
  ApSoutheast2 = 'ApSoutheast2',
}

/** A stream's id: a plain `bigint` (the high 32 bits are the tenant). */
export type StreamId = bigint;
/** An offset in a stream: a plain `bigint`. */
export type Offset = bigint;
/** A tenant's id: a plain `bigint`. */
export type TenantId = bigint;

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
  /**
   * The official SDK's socket read timeout. Here it bounds a whole call: the larger of
   * `readTimeoutMs` and `writeTimeoutMs` becomes `requestTimeoutMs` unless that is given.
   */
  readTimeoutMs?: number | undefined;
  /** The official SDK's socket write timeout; see `readTimeoutMs`. */
  writeTimeoutMs?: number | undefined;
  /** The official SDK's buffer size. Checked (an integer >= 1), no effect: buffers grow as needed. */
  bufferSizeBytes?: number | undefined;
  /** The official SDK's reconnect switch. Checked (a boolean), no effect: the client always re-dials. */
  autoReconnect?: boolean | undefined;
  /**
   * TLS on every connection. `true` verifies the server's certificate against the system
   * roots; an object takes the names and types of Node's own `tls.connect`. The connect
   * timeout covers the handshake. A refused certificate rejects with a KimberliteError whose
   * `code` is `'KMB_ERR_TLS'` and whose message gives the verifier's reason; it is not retried.
   * Default: plain TCP.
   */
  tls?: boolean | TLSOptions | undefined;
  /**
   * How long a lone quick call may wait for its answer on the event-loop thread, in
   * microseconds. A `read`, `streamLength`, `ping` or `serverInfo` made while no other call's
   * Promise is pending then settles after one wake-up instead of three hand-offs between
   * threads: about 2.5x faster against a local server. The loop is held for at most this long
   * per call; a call that takes longer goes on in the background (a read is sent again), and
   * the next lone calls skip the wait, twice as many after each further miss, so a slow or
   * distant server turns it off by itself. Appends, creates, syncs and subscriptions never
   * wait, nor does a call started while another is pending (in a `Promise.all` of reads only
   * the first may wait; the others are sent at once, together). `stats().asyncWaits` and
   * `asyncWaitMisses` count the waits. Default 0: off, and no call holds the event loop; 300
   * suits a server on the same host, for code that awaits one call at a time; at most 1000.
   */
  eventLoopWaitMicros?: number | undefined;
}

/** TLS settings of {@link ConnectOptions.tls}, named as in Node's `tls.connect`. */
export interface TLSOptions {
  /** CA certificates (PEM) the server's must chain to, instead of the system roots. */
  ca?: string | Buffer | Array<string | Buffer> | undefined;
  /** This client's certificate chain (PEM), for servers that require mutual TLS; needs `key`. */
  cert?: string | Buffer | Array<string | Buffer> | undefined;
  /** The private key (PEM) of `cert`. */
  key?: string | Buffer | undefined;
  /** The name the server's certificate must carry. Default: the host of each address. */
  servername?: string | undefined;
  /** `false` accepts any server certificate, which lets anyone on the path read and change the traffic: tests only. Default `true`. */
  rejectUnauthorized?: boolean | undefined;
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

/** Options of {@link Client.readAll}. */
export interface ReadAllOptions extends ReadOptions {
  /** The official SDK's name for `maxBytes` per page (give one of the two). */
  batchSize?: number | bigint | undefined;
}

/** One event of a stream. */
export interface StreamEvent {
  /** Its offset in the stream. */
  offset: bigint;
  /** Its bytes (a copy, owned by JavaScript). */
  data: Buffer;
}

/** The official SDK's name for {@link StreamEvent}. */
export type Event = StreamEvent;

/**
 * The result of {@link Client.read}: an array of events (index it, take its `length`), which
 * also carries the page's `nextOffset` and `hasMore` (non-enumerable).
 */
export interface ReadResult extends Array<StreamEvent> {
  /** The array itself (the shape of earlier versions of this package). */
  events: StreamEvent[];
  /** Where to read next: fromOffset + length. */
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
  /** Subscriptions open now. */
  subscriptions: number;
  /** Times a subscription moved to another connection or node. */
  resubscribes: number;
  /** Calls that waited for their answer on the event-loop thread ({@link ConnectOptions.eventLoopWaitMicros}). */
  asyncWaits: number;
  /** Of them, those that took longer and went on in the background. */
  asyncWaitMisses: number;
  /**
   * Lone quick calls (read, streamLength, ping, serverInfo) whose request left from the event
   * loop's thread and whose answer the loop reads when it arrives, without ever waiting for it.
   */
  loopCalls: number;
  /** Of them, those answered on the event loop (the others went on in the background). */
  loopSettled: number;
  /**
   * Times the event loop, about to sleep with nothing else to do while such a call's answer was
   * due, polled for it for up to 100 µs instead (the answer, or anything else ready, ends it).
   */
  loopIdleSpins: number;
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
   * {@link Client.createStream} with a placement. Only `Placement.Global` is accepted (this
   * server stores every stream globally); another rejects with a RangeError.
   */
  createStreamWithPlacement(name: string, dataClass: DataClass, placement: Placement): Promise<bigint>;

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
   * @param expectedOffset the official SDK's positional form of `{ expectedOffset }`. Left out,
   *   the events go at the end of the stream (the official SDK's default is `0n`).
   */
  append(streamId: bigint, events: ReadonlyArray<Uint8Array>, expectedOffset?: bigint | AppendOptions): Promise<bigint>;

  /**
   * Reads events from one stream; resolves to an array of events carrying `nextOffset` and
   * `hasMore`. A stream of the client's tenant that does not exist reads as empty; a stream id
   * of another tenant rejects with {@link StreamNotFoundError}.
   */
  read(streamId: bigint, options?: ReadOptions): Promise<ReadResult>;

  /** Iterates over the events of a stream from `fromOffset` to its current end. */
  readAll(streamId: bigint, options?: ReadAllOptions): AsyncGenerator<StreamEvent, void, void>;

  /**
   * Follows a stream from `fromOffset` as its events commit. The subscription belongs to the
   * client, not to a connection: after a lost connection, a lost node or a leader change the
   * library subscribes again from the offset after the last event it delivered, so every event
   * arrives once, in order, with no error.
   * @throws TypeError / RangeError for bad options.
   * @throws KimberliteError `KMB_ERR_STREAM_NOT_FOUND` (a stream of another tenant),
   *   `KMB_ERR_INVALID_ARGUMENT` (credit options that conflict), and the common errors.
   */
  subscribe(streamId: bigint, options?: SubscribeOptions): Promise<Subscription>;

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

  /** The tenant every request is made for. */
  readonly tenantId: bigint;

  /** Always `null`: the library does not report request ids of successful calls. */
  readonly lastRequestId: bigint | null;

  /** One round trip to the cluster; the client re-dials and follows the leader by itself. */
  reconnect(): Promise<void>;

  /** How many times {@link Client.reconnect} succeeded. */
  readonly reconnectCount: number;

  /**
   * Closes every connection and library thread of the client. Calls in flight reject with
   * `KMB_ERR_CLOSED`, later calls at once. Idempotent: every call returns the same Promise.
   */
  disconnect(): Promise<void>;
}

/**
 * A failure reported by the library or the server. `code` is the library's status name;
 * decide on the class, `code` or `isRetryable()`, never on the message text.
 */
export declare class KimberliteError extends Error {
  /**
   * @param info our details, or (the official SDK's form) a tag string such as `'Timeout'`.
   */
  constructor(
    message: string,
    info?: { code?: string; serverCode?: number; requestId?: bigint; retryable?: boolean } | string,
  );
  /** The status name, e.g. `"KMB_ERR_STREAM_NOT_FOUND"`, `"KMB_ERR_CONNECTION"`, `"KMB_ERR_CLOSED"`. */
  code: string;
  /** The official SDK's tag: `'Connection'`, `'Timeout'`, `'StreamNotFound'`, `'NotLeader'`, ... */
  readonly kind: string;
  /** The server's wire error code when the server answered with an error, else undefined. */
  serverCode: number | undefined;
  /** The id of the last request sent for the failing call, else undefined. */
  requestId: bigint | undefined;
  /** Whether the same call may be made again with a chance of success. */
  retryable: boolean;
  /** `retryable`, and never for an append whose outcome is unknown. */
  isRetryable(): boolean;
}

/** Options of {@link Client.subscribe}. */
export interface SubscribeOptions {
  /** Offset of the first event to deliver. Default `0n`. */
  fromOffset?: bigint | undefined;
  /** Events the server may push ahead of the consumer (the credit window). Default 128. */
  initialCredits?: number | undefined;
  /** Grant more credits when the balance falls below this. Default `max(floor(initialCredits / 4), 1)`. */
  lowWater?: number | undefined;
  /** Credits granted per refill. Default: back up to `initialCredits`. */
  refill?: number | undefined;
  /** Not supported (the server has no consumer groups): anything but undefined or null is a RangeError. */
  consumerGroup?: string | null | undefined;
  /**
   * Longest wait for the next event, in milliseconds, before `next()` rejects with
   * `KMB_ERR_TIMEOUT` (the subscription stays usable). Default: no limit (`null`).
   */
  timeoutMs?: number | null | undefined;
}

/**
 * A subscription made by {@link Client.subscribe}: iterate it with `for await` to receive the
 * stream's events in offset order, each once. Breaking out of the loop (or `return()`) ends it.
 *
 * Flow control is by credits: the server pushes at most the credit window ahead of the consumer
 * and the library grants more as events are taken, so a slow consumer slows the pushes down
 * instead of queueing events without limit. A wait longer than `timeoutMs` rejects with
 * `KMB_ERR_TIMEOUT`; iterate again to go on. When the server ends the subscription for good (the
 * stream was deleted...) iteration rejects with `KMB_ERR_SUBSCRIPTION_CLOSED` and
 * {@link Subscription.closeReason} says why; after the client's `disconnect()` it rejects with
 * `KMB_ERR_CLOSED` or `KMB_ERR_SUBSCRIPTION_CLOSED`.
 *
 * @example
 * ```ts
 * const sub = await client.subscribe(streamId, { fromOffset: 0n });
 * for await (const event of sub) {
 *   console.log(event.offset, event.data.toString());
 * }
 * ```
 */
export declare class Subscription implements AsyncIterableIterator<StreamEvent> {
  /** Use {@link Client.subscribe}; the constructor is not public. */
  private constructor();
  /** The stream it follows. */
  readonly streamId: bigint;
  /** The server's id of the current underlying subscription (it changes after a resubscribe). */
  readonly id: bigint;
  /** Credits the server holds for it: how many events it may push before more are granted. */
  readonly credits: number;
  /** The offset after the last event this object delivered (`fromOffset` before the first). */
  readonly nextOffset: bigint;
  /**
   * `null` while open; once closed, the protocol's name of the cause: `"ClientCancelled"` after
   * {@link Subscription.unsubscribe}, `"StreamDeleted"`, `"ServerShutdown"`...
   */
  readonly closeReason: string | null;
  /** Whether the subscription is closed. */
  readonly closed: boolean;
  /** The `"host:port"` of the node serving it now; `null` while it resubscribes, and once closed. */
  readonly node: string | null;
  /** Grants the server credits for `n` (>= 1) more events now, beyond the automatic refill. */
  grantCredits(n: number): Promise<void>;
  /**
   * Ends the subscription; a pending `next()` then resolves as done and events not yet taken are
   * dropped. Idempotent: every call returns the same Promise.
   */
  unsubscribe(): Promise<void>;
  /**
   * The next event, or `null` once unsubscribed; `timeoutMs` overrides the subscription's.
   * Rejects with `KMB_ERR_TIMEOUT` when nothing arrives in time (the subscription stays usable).
   */
  nextEvent(options?: { timeoutMs?: number | null | undefined }): Promise<StreamEvent | null>;
  /** The iterator protocol: the next event, or done once unsubscribed. */
  next(): Promise<IteratorResult<StreamEvent, undefined>>;
  /** Ends the subscription (called by `for await` on `break`); resolves as done. */
  return(): Promise<IteratorResult<StreamEvent, undefined>>;
  [Symbol.asyncIterator](): Subscription;
}

/** Dialing, the handshake, or a socket read or write failed (`KMB_ERR_CONNECTION`). */
export declare class ConnectionError extends KimberliteError {}
/** No node could serve the call (`KMB_ERR_CLUSTER_UNAVAILABLE`). */
export declare class ClusterUnavailableError extends ConnectionError {}
/** The official SDK's oversized-response class; never raised here (frames are bounded). */
export declare class ResponseTooLargeError extends ConnectionError {}
/** The call's deadline passed (`KMB_ERR_TIMEOUT`). */
export declare class TimeoutError extends KimberliteError {}
/** A bug inside the library, caught and reported (`KMB_ERR_INTERNAL`). */
export declare class InternalError extends KimberliteError {}
/** An append was sent but its result is unknown (`KMB_ERR_OUTCOME_UNKNOWN`): read before appending again. */
export declare class OutcomeUnknownError extends KimberliteError {}
/** The server answered with an error; `serverCode` is its wire code. */
export declare class ServerError extends KimberliteError {}
/** The server refused the auth token (`KMB_ERR_AUTHENTICATION_FAILED`). */
export declare class AuthenticationError extends ServerError {}
/** No stream has that id (`KMB_ERR_STREAM_NOT_FOUND`). */
export declare class StreamNotFoundError extends ServerError {}
/** The stream's length is not the expected offset (`KMB_ERR_OFFSET_MISMATCH`). */
export declare class OffsetMismatchError extends ServerError {}
/** The server asked the client to slow down (`KMB_ERR_RATE_LIMITED`). */
export declare class RateLimitedError extends ServerError {}
/** The node was not the leader (`KMB_ERR_NOT_LEADER`). */
export declare class NotLeaderError extends ServerError {}
/** The server refused a duplicate key (`KMB_ERR_UNIQUE_CONSTRAINT_VIOLATION`). */
export declare class UniqueConstraintViolationError extends ServerError {}
/** The official SDK's permission class; protocol v5 has no such code, so never raised here. */
export declare class PermissionDeniedError extends ServerError {}

/** Options of {@link Pool.create}: a seed address (or several) and any {@link ConnectOptions}. */
export interface PoolConfig extends Omit<ConnectOptions, 'addresses'> {
  /** One `"host:port"`, or an array (every node of a cluster is worth giving). */
  address?: string | string[] | undefined;
  /** Another name for `address`. */
  addresses?: string | string[] | undefined;
  /** The cap on concurrent borrowers. Default 10; must be > 0. */
  maxSize?: number | undefined;
  /** How long acquire() waits for a free slot. Default 30000; 0 waits forever. */
  acquireTimeoutMs?: number | undefined;
  /** Idle connections close after this long (`maxConnIdleTimeMs`). Default 300000; 0 never. */
  idleTimeoutMs?: number | undefined;
}

/** A snapshot of a {@link Pool}. */
export interface PoolStats {
  maxSize: number;
  /** 1 while the shared client is connected, else 0. */
  open: number;
  /** Borrower slots free right now. */
  idle: number;
  /** PooledClients borrowed and not yet released. */
  inUse: number;
  shutdown: boolean;
}

/**
 * At most `maxSize` concurrent borrowers of one shared {@link Client} (which pools, pipelines
 * and fails over by itself); the client connects at the first acquire.
 */
export declare class Pool {
  private constructor();
  /** Makes a pool; the options are checked now, connections open at the first acquire. */
  static create(config: PoolConfig): Promise<Pool>;
  /** The cap on concurrent borrowers. */
  readonly maxSize: number;
  /** Borrows the client; waits up to `acquireTimeoutMs` (then {@link TimeoutError}). */
  acquire(): Promise<PooledClient>;
  /** Calls `fn` with a borrowed client, releasing it when `fn` settles. */
  withClient<T>(fn: (client: PooledClient) => Promise<T>): Promise<T>;
  /** A snapshot; no network traffic. */
  stats(): PoolStats;
  /** Refuses later acquires and disconnects the shared client. Idempotent. */
  shutdown(): Promise<void>;
}

/** One borrow of a {@link Pool}'s client; every call rejects once released. */
export declare class PooledClient {
  private constructor();
  /** Gives the slot back. Idempotent. */
  release(): void;
  /** As release(): the shared client replaces broken connections itself. Idempotent. */
  discard(): void;
  /** Whether release() or discard() was called. */
  readonly released: boolean;
  readonly tenantId: bigint;
  readonly lastRequestId: bigint | null;
  createStream(name: string, dataClass: DataClass): Promise<bigint>;
  createStreamWithPlacement(name: string, dataClass: DataClass, placement: Placement): Promise<bigint>;
  append(streamId: bigint, events: ReadonlyArray<Uint8Array>, expectedOffset?: bigint | AppendOptions): Promise<bigint>;
  read(streamId: bigint, options?: ReadOptions): Promise<ReadResult>;
  readAll(streamId: bigint, options?: ReadAllOptions): AsyncGenerator<StreamEvent, void, void>;
  streamLength(streamId: bigint): Promise<bigint>;
  sync(): Promise<void>;
}

/** Options of {@link TenantPool}. */
export interface TenantPoolConfig {
  /** Makes the client of a tenant (called once per tenant, however many ask at once). */
  factory: (tenantId: bigint) => Promise<Client>;
  /** Most clients kept; the least recently used is disconnected beyond it. Default 128. */
  maxSize?: number | undefined;
  /** A client unused this long is disconnected at the next acquire. Default 300000; 0 never. */
  idleTimeoutMs?: number | undefined;
}

/** A snapshot of a {@link TenantPool}. */
export interface TenantPoolStats {
  size: number;
  hits: number;
  misses: number;
  evictions: number;
  idleEvictions: number;
}

/**
 * One cached {@link Client} per tenant. A client evicted while {@link TenantPool.withClient}
 * uses it is disconnected when that call settles.
 */
export declare class TenantPool {
  constructor(config: TenantPoolConfig);
  /** The tenant's client, made by the factory when it is not cached. */
  acquire(tenantId: bigint): Promise<Client>;
  /** Resolves to `await fn(client)` with the tenant's client. */
  withClient<T>(tenantId: bigint, fn: (client: Client) => Promise<T>): Promise<T>;
  /** Disconnects every cached client. */
  close(): Promise<void>;
  /** A snapshot; no network traffic. */
  stats(): TenantPoolStats;
}

/** How {@link withRetry} retries. */
export interface RetryPolicy {
  /** Calls in all, the first included (>= 1). */
  maxAttempts: number;
  /** The pause after the first failure; it doubles after each next one. */
  baseDelayMs: number;
  /** The longest pause. */
  capDelayMs: number;
}

/** `{ maxAttempts: 4, baseDelayMs: 50, capDelayMs: 800 }`. */
export declare const DEFAULT_RETRY: Readonly<RetryPolicy>;

/**
 * Resolves to `await op()`, calling it again after each {@link KimberliteError} whose
 * `isRetryable()` is true (never an append whose outcome is unknown), pausing
 * `min(capDelayMs, baseDelayMs * 2 ** (attempt - 1))` ms between attempts.
 */
export declare function withRetry<T>(op: () => Promise<T>, policy?: RetryPolicy): Promise<T>;

/** The version of the native library the addon runs on, e.g. `"0.1.0"`. Loads the addon. */
export declare function libraryVersion(): string;
