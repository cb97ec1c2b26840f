package pool

import (
	"errors"
	"fmt"
	"strings"

	"github.com/kimberlite/libkimberlite/wire"
)

// Kind classifies an *Error. Callers branch on Kind (or on the sentinels below with errors.Is),
// never on message text.
type Kind int

const (
	// KindServer: the server answered with a wire Error; ServerCode and Message hold it.
	KindServer Kind = iota + 1
	// KindConnection: a dial, handshake, write or read on the socket failed.
	KindConnection
	// KindTimeout: the call's deadline passed (or its context ended) before it completed.
	KindTimeout
	// KindClosed: the client was closed before or during the call.
	KindClosed
	// KindClusterUnavailable: no node could serve the call (no leader, every node down).
	KindClusterUnavailable
	// KindInvalidArgument: the call's arguments were refused before anything was sent.
	KindInvalidArgument
	// KindProtocol: the server sent something that is not valid protocol v5.
	KindProtocol
	// KindInternal: a bug in the client.
	KindInternal
	// KindTLS: the TLS handshake failed: the server's certificate was refused (unknown CA,
	// expired, wrong name; Message carries the verifier's reason), the server refused this
	// client's certificate, or the server does not speak TLS. Not retried: redialing cannot
	// fix a certificate.
	KindTLS
	// KindSubscriptionClosed: the subscription was closed (by Close, the client closing, or the
	// server ending it for good); Message names the reason.
	KindSubscriptionClosed
)

var kindNames = map[Kind]string{
	KindServer: "server error", KindConnection: "connection error", KindTimeout: "timeout",
	KindClosed: "client closed", KindClusterUnavailable: "cluster unavailable",
	KindInvalidArgument: "invalid argument", KindProtocol: "protocol error", KindInternal: "internal error",
	KindTLS:                "TLS error",
	KindSubscriptionClosed: "subscription closed",
}

func (k Kind) String() string {
	if s, ok := kindNames[k]; ok {
		return s
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Sentinel categories for errors.Is. An *Error matches the sentinel of its Kind, and server errors
// also match the sentinel of their code where one exists.
var (
	ErrConnection         = errors.New("kimberlite: connection error")
	ErrTimeout            = errors.New("kimberlite: timeout")
	ErrClosed             = errors.New("kimberlite: client closed")
	ErrClusterUnavailable = errors.New("kimberlite: cluster unavailable")
	ErrInvalidArgument    = errors.New("kimberlite: invalid argument")
	ErrProtocol           = errors.New("kimberlite: protocol error")
	// ErrSubscriptionClosed matches errors of KindSubscriptionClosed.
	ErrSubscriptionClosed = errors.New("kimberlite: subscription closed")
	ErrNotLeader          = errors.New("kimberlite: not the leader")
	ErrOffsetMismatch     = errors.New("kimberlite: offset mismatch")
	ErrAuth               = errors.New("kimberlite: authentication failed")
	ErrNotFound           = errors.New("kimberlite: not found")
	// ErrTLS matches KindTLS errors.
	ErrTLS = errors.New("kimberlite: TLS error")
	// ErrOutcomeUnknown marks an append that was sent but whose result could not be learned before
	// the deadline, neither by re-sending it with its idempotency key nor by reading the stream
	// back (the cluster stayed unreachable). The events may or may not have been appended; read
	// the stream to find out before appending them again.
	ErrOutcomeUnknown = errors.New("kimberlite: append outcome unknown")
)

var kindSentinels = map[Kind]error{
	KindConnection: ErrConnection, KindTimeout: ErrTimeout, KindClosed: ErrClosed,
	KindClusterUnavailable: ErrClusterUnavailable, KindInvalidArgument: ErrInvalidArgument,
	KindProtocol: ErrProtocol, KindTLS: ErrTLS, KindSubscriptionClosed: ErrSubscriptionClosed,
}

var codeSentinels = map[wire.ErrorCode]error{
	wire.ErrNotLeader: ErrNotLeader, wire.ErrOffsetMismatch: ErrOffsetMismatch,
	wire.ErrAuthenticationFailed: ErrAuth, wire.ErrStreamNotFound: ErrNotFound,
	wire.ErrTenantNotFound: ErrNotFound, wire.ErrTableNotFound: ErrNotFound,
}

// Error is every error the client returns. It says what the pool saw: the server's code and text,
// the request id, the node, how many attempts were made and the last dial error.
type Error struct {
	Kind        Kind
	ServerCode  wire.ErrorCode // meaningful when Kind == KindServer
	Message     string         // the server's text for KindServer; otherwise what went wrong
	RequestID   uint64         // id of the last request sent for this call; 0 if none was sent
	Node        string         // address of the node that answered or failed last; "" if none
	Attempts    int            // requests sent (or tried) for this call, retries included
	LastDialErr error          // the most recent dial failure seen by this call, if any
	// OutcomeUnknown is set on an append that may or may not have been applied (see
	// ErrOutcomeUnknown).
	OutcomeUnknown bool
	Err            error // underlying cause (a net error, context error, ...), if any
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("kimberlite: ")
	if e.Kind == KindServer {
		fmt.Fprintf(&b, "%s: %s", e.ServerCode, e.Message)
	} else {
		b.WriteString(e.Kind.String())
		if e.Message != "" {
			b.WriteString(": ")
			b.WriteString(e.Message)
		}
	}
	if e.Node != "" {
		fmt.Fprintf(&b, " (node %s", e.Node)
		if e.RequestID != 0 {
			fmt.Fprintf(&b, ", request %d", e.RequestID)
		}
		if e.Attempts > 1 {
			fmt.Fprintf(&b, ", %d attempts", e.Attempts)
		}
		b.WriteString(")")
	}
	if e.LastDialErr != nil && e.Kind != KindServer && e.Kind != KindTLS {
		fmt.Fprintf(&b, "; last dial error: %v", e.LastDialErr)
	}
	if e.Err != nil && e.Kind != KindServer && e.Kind != KindTLS && !strings.Contains(e.Message, e.Err.Error()) {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	return b.String()
}

// Unwrap exposes the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// Is matches the category sentinels above.
func (e *Error) Is(target error) bool {
	if target == ErrOutcomeUnknown {
		return e.OutcomeUnknown
	}
	if s, ok := kindSentinels[e.Kind]; ok && s == target {
		return true
	}
	if e.Kind == KindServer {
		if s, ok := codeSentinels[e.ServerCode]; ok && s == target {
			return true
		}
	}
	return false
}

// retryableCodes are server codes after which the same call may be sent again: a read or a probe
// had no effect (ProjectionLag, RateLimited) or must go to another node (NotLeader). For an append
// that was sent, none of them proves that nothing was written (a leader that times out waiting
// for a quorum answers RateLimited with the entry in its log); Append resolves those itself.
var retryableCodes = map[wire.ErrorCode]bool{
	wire.ErrProjectionLag: true, wire.ErrRateLimited: true, wire.ErrNotLeader: true,
}

// IsRetryable reports whether err is worth retrying by the application: a connection error, a
// timeout, an unavailable cluster, or a server code that means "try again". An append whose
// outcome is unknown is not retryable: read the stream first.
func IsRetryable(err error) bool {
	var e *Error
	if !errors.As(err, &e) || e.OutcomeUnknown {
		return false
	}
	switch e.Kind {
	case KindConnection, KindTimeout, KindClusterUnavailable:
		return true
	case KindServer:
		return retryableCodes[e.ServerCode]
	}
	return false
}

// IsTimeout reports whether err is a deadline or cancellation.
func IsTimeout(err error) bool { return errors.Is(err, ErrTimeout) }

// ServerCode returns the wire error code carried by err and true, or 0 and false when err is not a
// server error.
func ServerCode(err error) (wire.ErrorCode, bool) {
	var e *Error
	if errors.As(err, &e) && e.Kind == KindServer {
		return e.ServerCode, true
	}
	return 0, false
}
