package pool

import (
	"context"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/kimberlite/libkimberlite/wire"
)

// Event is one event read back from a stream.
type Event struct {
	Offset uint64
	Data   []byte
}

// ReadResult is one page of a stream.
type ReadResult struct {
	Events     []Event
	NextOffset uint64 // where to read next: from+len(Events), or from when nothing was returned
	HasMore    bool   // the server reported a next offset (at least one event came back)
}

// callCtx gives a call its single deadline: the caller's, or RequestTimeout from now.
// The first run of a Detach also ends when its patience does (detach.go).
func (c *Client) callCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	dl, ok := ctx.Deadline()
	if d := firstRun(ctx); d != nil {
		if !ok {
			dl = time.Now().Add(c.cfg.RequestTimeout)
		}
		return d.firstCallCtx(ctx, dl)
	}
	if ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, c.cfg.RequestTimeout)
}

// run executes one retryable request for operation op and records it.
func (c *Client) run(ctx context.Context, op opKind, body []byte, rt route) (wire.ResponsePayload, error) {
	if ctx == nil {
		return nil, invalidArg("ctx is nil")
	}
	if err := c.begin(); err != nil {
		return nil, err
	}
	defer c.end()
	start := time.Now()
	cctx, cancel := c.callCtx(ctx)
	defer cancel()
	c.budget.deposit()
	st := callState{}
	p, err := c.exec(cctx, body, rt, &st)
	if !leaving(ctx, err) { // a run that leaves its thread is not the call's outcome
		c.stats.record(op, time.Since(start), err)
	}
	if err != nil {
		return nil, err
	}
	return p, nil
}

func unexpected(p wire.ResponsePayload, want string) error {
	return &Error{Kind: KindProtocol, Message: fmt.Sprintf("server answered %T to %s", p, want)}
}

// CreateStream creates a stream named name in the client's tenant and returns its id. It is
// idempotent by name: an existing stream of that name keeps its data class and id. The server
// ignores placement; it is sent as given.
func (c *Client) CreateStream(ctx context.Context, name string, dc DataClass, p Placement) (uint64, error) {
	switch {
	case !utf8.ValidString(name):
		return 0, invalidArg("stream name is not valid UTF-8")
	case len(name) > wire.MaxPayloadSize/2:
		return 0, invalidArg(fmt.Sprintf("stream name is %d bytes, over the limit of %d", len(name), wire.MaxPayloadSize/2))
	case int(dc) >= wire.DataClassCount:
		return 0, invalidArg(fmt.Sprintf("data class %d is not one of the %d classes", dc, wire.DataClassCount))
	case !p.Global && p.Region.Kind > wire.RegionCustom:
		return 0, invalidArg(fmt.Sprintf("placement region kind %d is not a region", p.Region.Kind))
	case !p.Global && p.Region.Kind == wire.RegionCustom && !utf8.ValidString(p.Region.Custom):
		return 0, invalidArg("custom region name is not valid UTF-8")
	case !p.Global && p.Region.Kind == wire.RegionCustom && len(p.Region.Custom) > wire.MaxPayloadSize/4:
		return 0, invalidArg("custom region name is too long")
	}
	body := encodeBody(c.cfg.TenantID, wire.CreateStreamRequest{Name: name, DataClass: dc, Placement: p})
	resp, err := c.run(ctx, opCreateStream, body, toLeader)
	if err != nil {
		return 0, err
	}
	r, ok := resp.(wire.CreateStreamResponse)
	if !ok {
		return 0, unexpected(resp, "CreateStream")
	}
	return r.StreamID, nil
}

// Read returns events of streamID from fromOffset on, about maxBytes of event data at most
// (at least one event when any exists: the server adds whole events). A stream that does not
// exist reads as empty. maxBytes must be between 1 and 16 MiB.
func (c *Client) Read(ctx context.Context, streamID, fromOffset, maxBytes uint64) (ReadResult, error) {
	if maxBytes == 0 || maxBytes > wire.MaxPayloadSize {
		return ReadResult{}, invalidArg(fmt.Sprintf("maxBytes (%d) must be between 1 and %d", maxBytes, wire.MaxPayloadSize))
	}
	resp, err := c.run(ctx, opRead, c.readBody(streamID, fromOffset, maxBytes), toReader)
	return readAnswer(fromOffset, resp, err)
}

// The request bodies and answers of the quick calls, shared by Client and Loop.

func (c *Client) readBody(streamID, fromOffset, maxBytes uint64) []byte {
	return encodeBody(c.cfg.TenantID, wire.ReadEventsRequest{StreamID: streamID, FromOffset: fromOffset, MaxBytes: maxBytes})
}

func (c *Client) lengthBody(streamID uint64) []byte {
	return encodeBody(c.cfg.TenantID, wire.StreamInfoRequest{StreamID: streamID})
}

func readAnswer(fromOffset uint64, resp wire.ResponsePayload, err error) (ReadResult, error) {
	if err != nil {
		return ReadResult{}, err
	}
	r, ok := resp.(wire.ReadEventsResponse)
	if !ok {
		return ReadResult{}, unexpected(resp, "ReadEvents")
	}
	return toReadResult(fromOffset, r), nil
}

func lengthAnswer(resp wire.ResponsePayload, err error) (uint64, error) {
	if err != nil {
		return 0, err
	}
	r, ok := resp.(wire.StreamInfoResponse)
	if !ok {
		return 0, unexpected(resp, "StreamInfo")
	}
	return r.Length, nil
}

func infoAnswer(resp wire.ResponsePayload, err error) (ServerInfo, error) {
	if err != nil {
		return wire.ServerInfoResponse{}, err
	}
	r, ok := resp.(wire.ServerInfoResponse)
	if !ok {
		return wire.ServerInfoResponse{}, unexpected(resp, "GetServerInfo")
	}
	return r, nil
}

// pingAnswer: a ping is a GetServerInfo whose answer is not kept.
func pingAnswer(resp wire.ResponsePayload, err error) error {
	_, err = infoAnswer(resp, err)
	return err
}

func toReadResult(from uint64, r wire.ReadEventsResponse) ReadResult {
	out := ReadResult{Events: make([]Event, len(r.Events)), NextOffset: from + uint64(len(r.Events)), HasMore: r.NextOffset != nil}
	for i, e := range r.Events {
		out.Events[i] = Event{Offset: from + uint64(i), Data: e}
	}
	return out
}

// StreamLength returns the number of events in streamID (its next offset), or a NotFound error.
func (c *Client) StreamLength(ctx context.Context, streamID uint64) (uint64, error) {
	resp, err := c.run(ctx, opStreamLength, c.lengthBody(streamID), toReader)
	return lengthAnswer(resp, err)
}

// Sync asks the leader to make everything acknowledged so far durable (in a cluster it also
// confirms it still leads).
func (c *Client) Sync(ctx context.Context) error {
	resp, err := c.run(ctx, opSync, c.syncBody, toLeader)
	if err != nil {
		return err
	}
	if _, ok := resp.(wire.SyncResponse); !ok {
		return unexpected(resp, "Sync")
	}
	return nil
}

// ServerInfo describes the leader (or any node when no leader is known).
func (c *Client) ServerInfo(ctx context.Context) (ServerInfo, error) {
	return infoAnswer(c.run(ctx, opServerInfo, c.infoBody, toAnyNode))
}

// Ping makes one round trip to the leader (or any node when none is known).
func (c *Client) Ping(ctx context.Context) error {
	return pingAnswer(c.run(ctx, opPing, c.infoBody, toAnyNode))
}

// Iterator pages through a stream; see ReadAll.
type Iterator struct {
	c     *Client
	ctx   context.Context
	sid   uint64
	next  uint64
	page  uint64
	buf   []Event
	i     int
	cur   Event
	err   error
	ended bool
}

// ReadAll returns an iterator over the events of streamID from fromOffset to the end as it is
// when each page is read, pageBytes of event data per request (0 = DefaultReadMaxBytes).
//
//	it := c.ReadAll(ctx, id, 0, 0)
//	for it.Next() { use(it.Event()) }
//	if err := it.Err(); err != nil { ... }
func (c *Client) ReadAll(ctx context.Context, streamID, fromOffset, pageBytes uint64) *Iterator {
	if pageBytes == 0 {
		pageBytes = DefaultReadMaxBytes
	}
	return &Iterator{c: c, ctx: ctx, sid: streamID, next: fromOffset, page: pageBytes}
}

// Next advances to the next event, reading a page when needed. It returns false at the end of
// the stream or on an error (see Err).
func (it *Iterator) Next() bool {
	if it.err != nil || it.ended {
		return false
	}
	if it.i >= len(it.buf) {
		r, err := it.c.Read(it.ctx, it.sid, it.next, it.page)
		if err != nil {
			it.err = err
			return false
		}
		if len(r.Events) == 0 {
			it.ended = true
			return false
		}
		it.buf, it.i, it.next = r.Events, 0, r.NextOffset
	}
	it.cur = it.buf[it.i]
	it.i++
	return true
}

// Event is the event Next moved to.
func (it *Iterator) Event() Event { return it.cur }

// Err is the error that stopped the iteration, or nil at the end of the stream.
func (it *Iterator) Err() error { return it.err }
