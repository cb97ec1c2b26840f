package main

/*
#include <stdlib.h>
#include "ffi.h"
*/
import "C"

import (
	"context"
	"math"
	"sync/atomic"
	"time"
	"unsafe"

	pointer "github.com/mattn/go-pointer"

	"github.com/kimberlite/libkimberlite/pool"
)

// A kmb_subscription_t is a go-pointer key like the other handles, a tombstone once freed. The
// subscription itself belongs to pool (it follows the stream across reconnects); this file only
// checks arguments, copies batches into C memory and maps errors.
//
// One next call runs at a time per subscription: a second one, sync or async, is answered with
// KMB_ERR_BUSY instead of racing the first for the same events. An async next counts as a
// pending call of the client, so kmb_client_close waits for its callback; closing the pool
// client closes its subscriptions, so a next waiting without timeout wakes up first.

// subscriptionHandle is the Go side of a kmb_subscription_t.
type subscriptionHandle struct {
	sub       atomic.Pointer[pool.Subscription] // nil once freed
	client    *clientHandle                     // the client it was opened on
	clientPtr unsafe.Pointer                    // that client's C handle (callbacks name it)
	waiting   atomic.Bool                       // a next call is running
}

func newSubscriptionHandle(h *clientHandle, clientPtr unsafe.Pointer, s *pool.Subscription) unsafe.Pointer {
	sh := &subscriptionHandle{client: h, clientPtr: clientPtr}
	sh.sub.Store(s)
	return saveHandle(sh)
}

// lookupSubscription finds a subscription that was not freed.
func lookupSubscription(p unsafe.Pointer) (*subscriptionHandle, *pool.Subscription, *callError) {
	if p == nil {
		return nil, nil, errorf(C.KMB_ERR_INVALID_HANDLE, "subscription handle is NULL")
	}
	sh, ok := pointer.Restore(p).(*subscriptionHandle)
	if !ok {
		return nil, nil, errorf(C.KMB_ERR_INVALID_HANDLE, "%p is not a kmb_subscription_t of this library", p)
	}
	s := sh.sub.Load()
	if s == nil {
		return nil, nil, errorf(C.KMB_ERR_INVALID_HANDLE, "subscription %p was freed", p)
	}
	return sh, s, nil
}

func subscribeOptions(from C.uint64_t, credits, lowWater, refill C.uint32_t) pool.SubscribeOptions {
	return pool.SubscribeOptions{From: uint64(from), Credits: uint32(credits), LowWater: uint32(lowWater), Refill: uint32(refill)}
}

// nextContext bounds one next call: KMB_NO_TIMEOUT (and anything too long for a time.Duration)
// waits until a batch arrives or the subscription closes.
func nextContext(timeoutMs C.uint64_t) (context.Context, context.CancelFunc) {
	ms := uint64(timeoutMs)
	if ms > uint64(math.MaxInt64/int64(time.Millisecond)) {
		return context.WithCancel(context.Background())
	}
	return context.WithTimeout(context.Background(), time.Duration(ms)*time.Millisecond)
}

// newBatch copies one delivered batch into a kmb_events_t.
func newBatch(evs []pool.Event) (*C.kmb_events_t, *callError) {
	r := pool.ReadResult{Events: evs, HasMore: true}
	if n := len(evs); n > 0 {
		r.NextOffset = evs[n-1].Offset + 1
	}
	return newEvents(r)
}

// beginNext claims the subscription for one next call.
func (sh *subscriptionHandle) beginNext() *callError {
	if sh.client.client.Load() == nil {
		return errorf(C.KMB_ERR_CLOSED, "the subscription's client was closed")
	}
	if !sh.waiting.CompareAndSwap(false, true) {
		return errorf(C.KMB_ERR_BUSY, "another next call is already waiting on this subscription")
	}
	return nil
}

//export kmbgo_subscribe
func kmbgo_subscribe(p unsafe.Pointer, streamID, from C.uint64_t, credits, lowWater, refill C.uint32_t, out *unsafe.Pointer) (st C.kmb_status_t) {
	defer recoverPanic(&st)
	if out == nil {
		return fail(C.KMB_ERR_NULL_ARGUMENT, "kmb_subscribe: out is NULL")
	}
	*out = nil
	h, c, cerr := lookupClient(p)
	if cerr != nil {
		return cerr.record()
	}
	s, err := c.Subscribe(context.Background(), uint64(streamID), subscribeOptions(from, credits, lowWater, refill))
	if err != nil {
		return failErr(err)
	}
	*out = newSubscriptionHandle(h, p, s)
	return C.KMB_OK
}

//export kmbgo_subscribe_async
func kmbgo_subscribe_async(p unsafe.Pointer, streamID, from C.uint64_t, credits, lowWater, refill C.uint32_t, cb C.kmb_subscription_callback_t, ud C.uintptr_t) (st C.kmb_status_t) {
	defer recoverPanic(&st)
	if cb == nil {
		return nullCallback()
	}
	h, _, cerr := lookupClient(p)
	if cerr != nil {
		return cerr.record()
	}
	opts := subscribeOptions(from, credits, lowWater, refill)
	var s *pool.Subscription
	return startAsync(p, 0, nil, func(ctx context.Context, c *pool.Client) error {
		var err error
		s, err = c.Subscribe(ctx, uint64(streamID), opts)
		return err
	}, func(err error) {
		cerr := errOrNil(err)
		var sp unsafe.Pointer
		if cerr == nil {
			sp = newSubscriptionHandle(h, p, s)
		} else if s != nil {
			_ = s.Close()
		}
		st, msg, n, sc, rid := errorParts(cerr)
		defer C.free(unsafe.Pointer(msg))
		C.kmb__call_subscription_cb(p, cb, ud, st, (*C.kmb_subscription_t)(sp), msg, n, sc, rid)
	})
}

//export kmbgo_subscription_next
func kmbgo_subscription_next(sp unsafe.Pointer, timeoutMs C.uint64_t, out **C.kmb_events_t) (st C.kmb_status_t) {
	defer recoverPanic(&st)
	if out == nil {
		return fail(C.KMB_ERR_NULL_ARGUMENT, "kmb_subscription_next: out is NULL")
	}
	*out = nil
	sh, s, cerr := lookupSubscription(sp)
	if cerr != nil {
		return cerr.record()
	}
	if cerr := sh.beginNext(); cerr != nil {
		return cerr.record()
	}
	defer sh.waiting.Store(false)
	ctx, cancel := nextContext(timeoutMs)
	defer cancel()
	evs, err := s.Next(ctx)
	if err != nil {
		return failErr(err)
	}
	ev, cerr := newBatch(evs)
	if cerr != nil {
		return cerr.record()
	}
	*out = ev
	return C.KMB_OK
}

//export kmbgo_subscription_next_async
func kmbgo_subscription_next_async(sp unsafe.Pointer, timeoutMs C.uint64_t, cb C.kmb_events_callback_t, ud C.uintptr_t) (st C.kmb_status_t) {
	defer recoverPanic(&st)
	if cb == nil {
		return nullCallback()
	}
	sh, s, cerr := lookupSubscription(sp)
	if cerr != nil {
		return cerr.record()
	}
	if cerr := sh.beginNext(); cerr != nil {
		return cerr.record()
	}
	var evs []pool.Event
	st = startAsync(sh.clientPtr, 0, nil, func(context.Context, *pool.Client) error {
		ctx, cancel := nextContext(timeoutMs)
		defer cancel()
		var err error
		evs, err = s.Next(ctx)
		return err
	}, func(err error) {
		var ev *C.kmb_events_t
		cerr := errOrNil(err)
		if cerr == nil {
			ev, cerr = newBatch(evs)
		}
		// Released before the callback runs, so the callback may ask for the next batch at once.
		sh.waiting.Store(false)
		st, msg, n, sc, rid := errorParts(cerr)
		defer C.free(unsafe.Pointer(msg))
		C.kmb__call_events_cb(sh.clientPtr, cb, ud, st, ev, msg, n, sc, rid)
	})
	if st != C.KMB_OK {
		sh.waiting.Store(false)
		if st == C.KMB_ERR_INVALID_HANDLE { // the client was closed in between
			return fail(C.KMB_ERR_CLOSED, "the subscription's client was closed")
		}
	}
	return st
}

//export kmbgo_subscription_grant_credits
func kmbgo_subscription_grant_credits(sp unsafe.Pointer, n C.uint32_t) (st C.kmb_status_t) {
	defer recoverPanic(&st)
	_, s, cerr := lookupSubscription(sp)
	if cerr != nil {
		return cerr.record()
	}
	if err := s.GrantCredits(uint32(n)); err != nil {
		return failErr(err)
	}
	return C.KMB_OK
}

//export kmbgo_subscription_id
func kmbgo_subscription_id(sp unsafe.Pointer, out *C.uint64_t) (st C.kmb_status_t) {
	defer recoverPanic(&st)
	_, s, cerr := lookupSubscription(sp)
	if cerr != nil {
		return cerr.record()
	}
	if out == nil {
		return fail(C.KMB_ERR_NULL_ARGUMENT, "kmb_subscription_id: id_out is NULL")
	}
	*out = C.uint64_t(s.ID())
	return C.KMB_OK
}

//export kmbgo_subscription_credits
func kmbgo_subscription_credits(sp unsafe.Pointer, out *C.uint32_t) (st C.kmb_status_t) {
	defer recoverPanic(&st)
	_, s, cerr := lookupSubscription(sp)
	if cerr != nil {
		return cerr.record()
	}
	if out == nil {
		return fail(C.KMB_ERR_NULL_ARGUMENT, "kmb_subscription_credits: credits_out is NULL")
	}
	*out = C.uint32_t(s.Credits())
	return C.KMB_OK
}

//export kmbgo_subscription_next_offset
func kmbgo_subscription_next_offset(sp unsafe.Pointer, out *C.uint64_t) (st C.kmb_status_t) {
	defer recoverPanic(&st)
	_, s, cerr := lookupSubscription(sp)
	if cerr != nil {
		return cerr.record()
	}
	if out == nil {
		return fail(C.KMB_ERR_NULL_ARGUMENT, "kmb_subscription_next_offset: offset_out is NULL")
	}
	*out = C.uint64_t(s.NextOffset())
	return C.KMB_OK
}

//export kmbgo_subscription_close_reason
func kmbgo_subscription_close_reason(sp unsafe.Pointer, out **C.char) (st C.kmb_status_t) {
	defer recoverPanic(&st)
	if out == nil {
		return fail(C.KMB_ERR_NULL_ARGUMENT, "kmb_subscription_close_reason: reason_out is NULL")
	}
	*out = nil
	_, s, cerr := lookupSubscription(sp)
	if cerr != nil {
		return cerr.record()
	}
	p, cerr := newCString(s.CloseReason())
	if cerr != nil {
		return cerr.record()
	}
	*out = p
	return C.KMB_OK
}

//export kmbgo_subscription_node
func kmbgo_subscription_node(sp unsafe.Pointer, out **C.char) (st C.kmb_status_t) {
	defer recoverPanic(&st)
	if out == nil {
		return fail(C.KMB_ERR_NULL_ARGUMENT, "kmb_subscription_node: node_out is NULL")
	}
	*out = nil
	_, s, cerr := lookupSubscription(sp)
	if cerr != nil {
		return cerr.record()
	}
	node := ""
	if s.CloseReason() == "" { // a closed subscription keeps its last link's address
		node = s.Node()
	}
	p, cerr := newCString(node)
	if cerr != nil {
		return cerr.record()
	}
	*out = p
	return C.KMB_OK
}

//export kmbgo_subscription_close
func kmbgo_subscription_close(sp unsafe.Pointer) (st C.kmb_status_t) {
	defer recoverPanic(&st)
	_, s, cerr := lookupSubscription(sp)
	if cerr != nil {
		return cerr.record()
	}
	if err := s.Close(); err != nil {
		return failErr(err)
	}
	return C.KMB_OK
}

//export kmbgo_subscription_free
func kmbgo_subscription_free(sp unsafe.Pointer) {
	defer func() { _ = recover() }() // nothing to report from a void function
	sh, _, cerr := lookupSubscription(sp)
	if cerr != nil {
		return
	}
	s := sh.sub.Swap(nil)
	if s == nil {
		return
	}
	// Unsubscribing is a round trip (bounded by the request timeout): a free, often called from
	// a garbage collector's finalizer, does not wait for it.
	go func() {
		defer func() { _ = recover() }()
		_ = s.Close()
	}()
}
