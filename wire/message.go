package wire

import "fmt"

// Message is one frame's payload: a *Request, *Response or *Push.
type Message interface{ messageIndex() uint32 }

// Request is a client-to-server message.
type Request struct {
	ID       uint64
	TenantID uint64
	Audit    *AuditMetadata
	Payload  RequestPayload
}

// Response is the server's answer to the request with the same id.
type Response struct {
	RequestID uint64
	Payload   ResponsePayload
}

// Push is an unsolicited server-to-client message for a subscription.
type Push struct{ Payload PushPayload }

func (*Request) messageIndex() uint32  { return 0 }
func (*Response) messageIndex() uint32 { return 1 }
func (*Push) messageIndex() uint32     { return 2 }

// RequestPayload is one of the request bodies below.
type RequestPayload interface{ RequestIndex() uint32 }

// ResponsePayload is one of the response bodies below.
type ResponsePayload interface{ ResponseIndex() uint32 }

// PushPayload is SubscriptionEvents or SubscriptionClosed.
type PushPayload interface{ pushIndex() uint32 }

// Request variant indices of the subset (RequestPayload enum positions).
const (
	ReqHandshake       uint32 = 0
	ReqCreateStream    uint32 = 1
	ReqAppendEvents    uint32 = 2
	ReqReadEvents      uint32 = 5
	ReqStreamInfo      uint32 = 6
	ReqSubscribe       uint32 = 7
	ReqSync            uint32 = 8
	ReqSubscribeCredit uint32 = 9
	ReqUnsubscribe     uint32 = 10
	ReqGetServerInfo   uint32 = 22
)

// Response variant indices of the subset (ResponsePayload enum positions).
const (
	RespError           uint32 = 0
	RespHandshake       uint32 = 1
	RespCreateStream    uint32 = 2
	RespAppendEvents    uint32 = 3
	RespReadEvents      uint32 = 6
	RespStreamInfo      uint32 = 7
	RespSubscribe       uint32 = 8
	RespSync            uint32 = 9
	RespSubscriptionAck uint32 = 10
	RespServerInfo      uint32 = 22
)

// PayloadVariantCount is the number of RequestPayload and of ResponsePayload variants in v5.
const PayloadVariantCount = 43

var requestNames = [PayloadVariantCount]string{
	"Handshake", "CreateStream", "AppendEvents", "Query", "QueryAt", "ReadEvents", "StreamInfo",
	"Subscribe", "Sync", "SubscribeCredit", "Unsubscribe", "ListTables", "DescribeTable",
	"ListIndexes", "TenantCreate", "TenantList", "TenantDelete", "TenantGet", "ApiKeyRegister",
	"ApiKeyRevoke", "ApiKeyList", "ApiKeyRotate", "GetServerInfo", "ConsentGrant", "ConsentWithdraw",
	"ConsentCheck", "ConsentList", "ErasureRequest", "ErasureMarkProgress", "ErasureMarkStreamErased",
	"ErasureComplete", "ErasureExempt", "ErasureStatus", "ErasureList", "AuditQuery",
	"VerifyAuditChain", "ExportSubject", "VerifyExport", "BreachReportIndicator", "BreachQueryStatus",
	"BreachConfirm", "BreachResolve", "MaskingPolicyList",
}

// RequestName returns the protocol name of a RequestPayload variant index.
func RequestName(index uint32) string {
	if index < PayloadVariantCount {
		return requestNames[index]
	}
	return fmt.Sprintf("Request(%d)", index)
}

// HandshakeRequest opens a session; ClientVersion must be 5.
type HandshakeRequest struct {
	ClientVersion uint16
	AuthToken     *string
}

// CreateStreamRequest creates a stream, or returns the existing one of that name in the tenant.
type CreateStreamRequest struct {
	Name      string
	DataClass DataClass
	Placement Placement
}

// AppendEventsRequest appends events if the stream's length equals ExpectedOffset.
type AppendEventsRequest struct {
	StreamID       uint64
	Events         [][]byte
	ExpectedOffset uint64
}

// ReadEventsRequest reads events from FromOffset, up to about MaxBytes of event payload.
type ReadEventsRequest struct {
	StreamID   uint64
	FromOffset uint64
	MaxBytes   uint64
}

// StreamInfoRequest asks for a stream's length.
type StreamInfoRequest struct{ StreamID uint64 }

// SubscribeRequest opens a push subscription on a stream.
type SubscribeRequest struct {
	StreamID       uint64
	FromOffset     uint64
	InitialCredits uint32
	ConsumerGroup  *string
}

// SyncRequest asks the server to make everything durable.
type SyncRequest struct{}

// SubscribeCreditRequest grants a subscription more credits.
type SubscribeCreditRequest struct {
	SubscriptionID    uint64
	AdditionalCredits uint32
}

// UnsubscribeRequest closes a subscription.
type UnsubscribeRequest struct{ SubscriptionID uint64 }

// GetServerInfoRequest asks for the server's build, capabilities and mode.
type GetServerInfoRequest struct{}

// RawRequest is a request variant outside the subset: its index and its undecoded body. The
// decoder produces it for every valid index it does not model, so a server can answer such a
// request with an error instead of dropping the connection.
type RawRequest struct {
	Index uint32
	Body  []byte
}

func (HandshakeRequest) RequestIndex() uint32       { return ReqHandshake }
func (CreateStreamRequest) RequestIndex() uint32    { return ReqCreateStream }
func (AppendEventsRequest) RequestIndex() uint32    { return ReqAppendEvents }
func (ReadEventsRequest) RequestIndex() uint32      { return ReqReadEvents }
func (StreamInfoRequest) RequestIndex() uint32      { return ReqStreamInfo }
func (SubscribeRequest) RequestIndex() uint32       { return ReqSubscribe }
func (SyncRequest) RequestIndex() uint32            { return ReqSync }
func (SubscribeCreditRequest) RequestIndex() uint32 { return ReqSubscribeCredit }
func (UnsubscribeRequest) RequestIndex() uint32     { return ReqUnsubscribe }
func (GetServerInfoRequest) RequestIndex() uint32   { return ReqGetServerInfo }
func (r RawRequest) RequestIndex() uint32           { return r.Index }

// ErrorResponse reports a failed request. Message is the server's human-readable text.
type ErrorResponse struct {
	Code    ErrorCode
	Message string
}

// HandshakeResponse accepts a session.
type HandshakeResponse struct {
	ServerVersion uint16
	Authenticated bool
	Capabilities  []string
}

// CreateStreamResponse carries the stream's id.
type CreateStreamResponse struct{ StreamID uint64 }

// AppendEventsResponse carries the offset of the first appended event and the count.
type AppendEventsResponse struct {
	FirstOffset uint64
	Count       uint32
}

// ReadEventsResponse carries events and, when at least one was returned, the offset to read next.
type ReadEventsResponse struct {
	Events     [][]byte
	NextOffset *uint64
}

// StreamInfoResponse carries the stream's length (its next offset).
type StreamInfoResponse struct{ Length uint64 }

// SubscribeResponse accepts a subscription.
type SubscribeResponse struct {
	SubscriptionID uint64
	StartOffset    uint64
	Credits        uint32
}

// SyncResponse answers Sync; failures come as ErrorResponse instead.
type SyncResponse struct{ Success bool }

// SubscriptionAckResponse answers SubscribeCredit and Unsubscribe.
type SubscriptionAckResponse struct {
	SubscriptionID   uint64
	CreditsRemaining uint32
}

// ServerInfoResponse describes the server.
type ServerInfoResponse struct {
	BuildVersion    string
	ProtocolVersion uint16
	Capabilities    []string
	UptimeSecs      uint64
	ClusterMode     ClusterMode
	TenantCount     uint32
}

// RawResponse is a response variant outside the subset, with its undecoded body.
type RawResponse struct {
	Index uint32
	Body  []byte
}

func (ErrorResponse) ResponseIndex() uint32           { return RespError }
func (HandshakeResponse) ResponseIndex() uint32       { return RespHandshake }
func (CreateStreamResponse) ResponseIndex() uint32    { return RespCreateStream }
func (AppendEventsResponse) ResponseIndex() uint32    { return RespAppendEvents }
func (ReadEventsResponse) ResponseIndex() uint32      { return RespReadEvents }
func (StreamInfoResponse) ResponseIndex() uint32      { return RespStreamInfo }
func (SubscribeResponse) ResponseIndex() uint32       { return RespSubscribe }
func (SyncResponse) ResponseIndex() uint32            { return RespSync }
func (SubscriptionAckResponse) ResponseIndex() uint32 { return RespSubscriptionAck }
func (ServerInfoResponse) ResponseIndex() uint32      { return RespServerInfo }
func (r RawResponse) ResponseIndex() uint32           { return r.Index }

// SubscriptionEvents pushes events to a subscriber.
type SubscriptionEvents struct {
	SubscriptionID   uint64
	StartOffset      uint64
	Events           [][]byte
	CreditsRemaining uint32
}

// SubscriptionClosed tells a subscriber its subscription ended.
type SubscriptionClosed struct {
	SubscriptionID uint64
	Reason         SubscriptionCloseReason
}

func (SubscriptionEvents) pushIndex() uint32 { return 0 }
func (SubscriptionClosed) pushIndex() uint32 { return 1 }

// AppendMessage appends the postcard encoding of m to dst.
func AppendMessage(dst []byte, m Message) []byte {
	e := encoder{buf: dst}
	e.u32(m.messageIndex())
	switch m := m.(type) {
	case *Request:
		e.u64(m.ID)
		e.u64(m.TenantID)
		encodeAudit(&e, m.Audit)
		encodeRequestPayload(&e, m.Payload)
	case *Response:
		e.u64(m.RequestID)
		encodeResponsePayload(&e, m.Payload)
	case *Push:
		encodePushPayload(&e, m.Payload)
	}
	return e.buf
}

func encodeAudit(e *encoder, a *AuditMetadata) {
	if a == nil {
		e.u8(0)
		return
	}
	e.u8(1)
	e.optStr(a.Actor)
	e.optStr(a.Reason)
	e.optStr(a.CorrelationID)
	e.optStr(a.IdempotencyKey)
}

func encodeRequestPayload(e *encoder, p RequestPayload) {
	e.u32(p.RequestIndex())
	switch p := p.(type) {
	case HandshakeRequest:
		e.u16(p.ClientVersion)
		e.optStr(p.AuthToken)
	case CreateStreamRequest:
		e.str(p.Name)
		e.u32(uint32(p.DataClass))
		encodePlacement(e, p.Placement)
	case AppendEventsRequest:
		e.u64(p.StreamID)
		e.byteVecs(p.Events)
		e.u64(p.ExpectedOffset)
	case ReadEventsRequest:
		e.u64(p.StreamID)
		e.u64(p.FromOffset)
		e.u64(p.MaxBytes)
	case StreamInfoRequest:
		e.u64(p.StreamID)
	case SubscribeRequest:
		e.u64(p.StreamID)
		e.u64(p.FromOffset)
		e.u32(p.InitialCredits)
		e.optStr(p.ConsumerGroup)
	case SyncRequest, GetServerInfoRequest:
	case SubscribeCreditRequest:
		e.u64(p.SubscriptionID)
		e.u32(p.AdditionalCredits)
	case UnsubscribeRequest:
		e.u64(p.SubscriptionID)
	case RawRequest:
		e.buf = append(e.buf, p.Body...)
	default:
		panic(fmt.Sprintf("wire: unknown request payload %T", p))
	}
}

func encodePlacement(e *encoder, p Placement) {
	if p.Global {
		e.u32(1)
		return
	}
	e.u32(0)
	e.u32(uint32(p.Region.Kind))
	if p.Region.Kind == RegionCustom {
		e.str(p.Region.Custom)
	}
}

func encodeResponsePayload(e *encoder, p ResponsePayload) {
	e.u32(p.ResponseIndex())
	switch p := p.(type) {
	case ErrorResponse:
		e.u32(uint32(p.Code))
		e.str(p.Message)
	case HandshakeResponse:
		e.u16(p.ServerVersion)
		e.boolean(p.Authenticated)
		e.strs(p.Capabilities)
	case CreateStreamResponse:
		e.u64(p.StreamID)
	case AppendEventsResponse:
		e.u64(p.FirstOffset)
		e.u32(p.Count)
	case ReadEventsResponse:
		e.byteVecs(p.Events)
		e.optU64(p.NextOffset)
	case StreamInfoResponse:
		e.u64(p.Length)
	case SubscribeResponse:
		e.u64(p.SubscriptionID)
		e.u64(p.StartOffset)
		e.u32(p.Credits)
	case SyncResponse:
		e.boolean(p.Success)
	case SubscriptionAckResponse:
		e.u64(p.SubscriptionID)
		e.u32(p.CreditsRemaining)
	case ServerInfoResponse:
		e.str(p.BuildVersion)
		e.u16(p.ProtocolVersion)
		e.strs(p.Capabilities)
		e.u64(p.UptimeSecs)
		e.u32(uint32(p.ClusterMode))
		e.u32(p.TenantCount)
	case RawResponse:
		e.buf = append(e.buf, p.Body...)
	default:
		panic(fmt.Sprintf("wire: unknown response payload %T", p))
	}
}

func encodePushPayload(e *encoder, p PushPayload) {
	e.u32(p.pushIndex())
	switch p := p.(type) {
	case SubscriptionEvents:
		e.u64(p.SubscriptionID)
		e.u64(p.StartOffset)
		e.byteVecs(p.Events)
		e.u32(p.CreditsRemaining)
	case SubscriptionClosed:
		e.u64(p.SubscriptionID)
		e.u32(uint32(p.Reason))
	}
}

// DecodeMessage decodes one frame payload. Trailing bytes after a complete message are ignored, as
// the reference implementation does. Every failure is a *DecodeError (errors.Is ErrDecode).
func DecodeMessage(payload []byte) (Message, error) {
	return DecodeMessageLimited(payload, 0)
}

// DecodeMessageLimited is DecodeMessage with a bound on the events of an AppendEvents request,
// checked on the event count before any event is decoded (0: no bound). Beyond it the error is
// a *TooManyEventsError naming the request, so a server can answer it and keep the connection.
func DecodeMessageLimited(payload []byte, maxEvents int) (Message, error) {
	d := &decoder{buf: payload, maxEvents: maxEvents}
	var m Message
	switch idx := d.u32("message tag"); {
	case d.err != nil:
	case idx == 0:
		r := &Request{}
		r.ID = d.u64("request id")
		r.TenantID = d.u64("tenant id")
		r.Audit = decodeAudit(d)
		r.Payload = decodeRequestPayload(d)
		if e, ok := d.err.(*TooManyEventsError); ok {
			e.RequestID, e.TenantID = r.ID, r.TenantID
		}
		m = r
	case idx == 1:
		r := &Response{}
		r.RequestID = d.u64("request id")
		r.Payload = decodeResponsePayload(d)
		m = r
	case idx == 2:
		m = &Push{Payload: decodePushPayload(d)}
	default:
		d.pos = 0
		d.fail(fmt.Sprintf("unknown message variant %d", idx))
	}
	if d.err != nil {
		return nil, d.err
	}
	return m, nil
}

func decodeAudit(d *decoder) *AuditMetadata {
	if !d.option("audit") {
		return nil
	}
	a := &AuditMetadata{}
	a.Actor = d.optStr("audit.actor")
	a.Reason = d.optStr("audit.reason")
	a.CorrelationID = d.optStr("audit.correlation_id")
	a.IdempotencyKey = d.optStr("audit.idempotency_key")
	return a
}

func (d *decoder) variant(what string, count uint32) uint32 {
	start := d.pos
	idx := d.u32(what)
	if d.err == nil && idx >= count {
		d.pos = start
		d.fail(fmt.Sprintf("%s: unknown variant index %d", what, idx))
	}
	return idx
}

func decodeRequestPayload(d *decoder) RequestPayload {
	idx := d.variant("request payload", PayloadVariantCount)
	if d.err != nil {
		return nil
	}
	switch idx {
	case ReqHandshake:
		return HandshakeRequest{ClientVersion: d.u16("client_version"), AuthToken: d.optStr("auth_token")}
	case ReqCreateStream:
		return CreateStreamRequest{Name: d.str("name"), DataClass: decodeDataClass(d), Placement: decodePlacement(d)}
	case ReqAppendEvents:
		return AppendEventsRequest{StreamID: d.u64("stream_id"), Events: d.events(), ExpectedOffset: d.u64("expected_offset")}
	case ReqReadEvents:
		return ReadEventsRequest{StreamID: d.u64("stream_id"), FromOffset: d.u64("from_offset"), MaxBytes: d.u64("max_bytes")}
	case ReqStreamInfo:
		return StreamInfoRequest{StreamID: d.u64("stream_id")}
	case ReqSubscribe:
		return SubscribeRequest{StreamID: d.u64("stream_id"), FromOffset: d.u64("from_offset"),
			InitialCredits: d.u32("initial_credits"), ConsumerGroup: d.optStr("consumer_group")}
	case ReqSync:
		return SyncRequest{}
	case ReqSubscribeCredit:
		return SubscribeCreditRequest{SubscriptionID: d.u64("subscription_id"), AdditionalCredits: d.u32("additional_credits")}
	case ReqUnsubscribe:
		return UnsubscribeRequest{SubscriptionID: d.u64("subscription_id")}
	case ReqGetServerInfo:
		return GetServerInfoRequest{}
	default:
		return RawRequest{Index: idx, Body: d.rest()}
	}
}

func decodeDataClass(d *decoder) DataClass {
	return DataClass(d.variant("data_class", uint32(DataClassCount)))
}

func decodePlacement(d *decoder) Placement {
	if d.variant("placement", 2) == 1 {
		return PlacementGlobal
	}
	kind := RegionKind(d.variant("region", 3))
	r := Region{Kind: kind}
	if kind == RegionCustom {
		r.Custom = d.str("region.custom")
	}
	return Placement{Region: r}
}

func decodeResponsePayload(d *decoder) ResponsePayload {
	idx := d.variant("response payload", PayloadVariantCount)
	if d.err != nil {
		return nil
	}
	switch idx {
	case RespError:
		return ErrorResponse{Code: ErrorCode(d.variant("error code", uint32(ErrorCodeCount))), Message: d.str("message")}
	case RespHandshake:
		return HandshakeResponse{ServerVersion: d.u16("server_version"), Authenticated: d.boolean("authenticated"), Capabilities: d.strs("capabilities")}
	case RespCreateStream:
		return CreateStreamResponse{StreamID: d.u64("stream_id")}
	case RespAppendEvents:
		return AppendEventsResponse{FirstOffset: d.u64("first_offset"), Count: d.u32("count")}
	case RespReadEvents:
		return ReadEventsResponse{Events: d.byteVecs("events"), NextOffset: d.optU64("next_offset")}
	case RespStreamInfo:
		return StreamInfoResponse{Length: d.u64("length")}
	case RespSubscribe:
		return SubscribeResponse{SubscriptionID: d.u64("subscription_id"), StartOffset: d.u64("start_offset"), Credits: d.u32("credits")}
	case RespSync:
		return SyncResponse{Success: d.boolean("success")}
	case RespSubscriptionAck:
		return SubscriptionAckResponse{SubscriptionID: d.u64("subscription_id"), CreditsRemaining: d.u32("credits_remaining")}
	case RespServerInfo:
		return ServerInfoResponse{BuildVersion: d.str("build_version"), ProtocolVersion: d.u16("protocol_version"),
			Capabilities: d.strs("capabilities"), UptimeSecs: d.u64("uptime_secs"),
			ClusterMode: ClusterMode(d.variant("cluster_mode", 2)), TenantCount: d.u32("tenant_count")}
	default:
		return RawResponse{Index: idx, Body: d.rest()}
	}
}

func decodePushPayload(d *decoder) PushPayload {
	switch d.variant("push payload", 2) {
	case 0:
		return SubscriptionEvents{SubscriptionID: d.u64("subscription_id"), StartOffset: d.u64("start_offset"),
			Events: d.byteVecs("events"), CreditsRemaining: d.u32("credits_remaining")}
	default:
		return SubscriptionClosed{SubscriptionID: d.u64("subscription_id"), Reason: SubscriptionCloseReason(d.variant("reason", 5))}
	}
}
