package wire

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

type vector struct {
	name           string
	payload, frame []byte
}

func loadVectors(t testing.TB) (map[string]vector, []string) {
	f, err := os.Open("testdata/vectors.txt")
	require.NoError(t, err)
	defer f.Close()
	out := map[string]vector{}
	var order []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		v := vector{name: fields[0]}
		for _, kv := range fields[1:] {
			k, val, _ := strings.Cut(kv, "=")
			b, err := hex.DecodeString(val)
			require.NoError(t, err, line)
			switch k {
			case "payload":
				v.payload = b
			case "frame":
				v.frame = b
			}
		}
		out[v.name] = v
		order = append(order, v.name)
	}
	require.NoError(t, sc.Err())
	return out, order
}

func str(s string) *string  { return &s }
func u64p(v uint64) *uint64 { return &v }

const sid = uint64(42)<<32 | 1

// expected holds the message each vector encodes (parameters from the spec, section 5).
var expected = map[string]Message{
	"handshake_no_token": &Request{ID: 1, TenantID: 42, Payload: HandshakeRequest{ClientVersion: 5}},
	"handshake_token":    &Request{ID: 1, TenantID: 42, Payload: HandshakeRequest{ClientVersion: 5, AuthToken: str("secret-token")}},
	"create_stream": &Request{ID: 2, TenantID: 42, Payload: CreateStreamRequest{Name: "events", DataClass: DataClassPHI,
		Placement: PlacementGlobal}},
	"create_stream_region": &Request{ID: 2, TenantID: 42, Payload: CreateStreamRequest{Name: "events", DataClass: DataClassPublic,
		Placement: Placement{Region: Region{Kind: RegionCustom, Custom: "eu-west-1"}}}},
	"append_events": &Request{ID: 3, TenantID: 42, Payload: AppendEventsRequest{StreamID: sid,
		Events: [][]byte{[]byte("event1"), []byte("event2")}, ExpectedOffset: 0}},
	"read_events":      &Request{ID: 4, TenantID: 42, Payload: ReadEventsRequest{StreamID: sid, FromOffset: 0, MaxBytes: 1 << 20}},
	"stream_info":      &Request{ID: 5, TenantID: 42, Payload: StreamInfoRequest{StreamID: sid}},
	"subscribe":        &Request{ID: 6, TenantID: 42, Payload: SubscribeRequest{StreamID: sid, FromOffset: 0, InitialCredits: 128}},
	"sync_with_audit":  &Request{ID: 7, TenantID: 42, Audit: &AuditMetadata{Actor: str("alice"), CorrelationID: str("req-1")}, Payload: SyncRequest{}},
	"subscribe_credit": &Request{ID: 8, TenantID: 42, Payload: SubscribeCreditRequest{SubscriptionID: 300, AdditionalCredits: 64}},
	"unsubscribe":      &Request{ID: 9, TenantID: 42, Payload: UnsubscribeRequest{SubscriptionID: 300}},
	"get_server_info":  &Request{ID: 10, TenantID: 42, Payload: GetServerInfoRequest{}},
	"resp_handshake": &Response{RequestID: 1, Payload: HandshakeResponse{ServerVersion: 5, Authenticated: true,
		Capabilities: []string{"query", "append", "subscribe"}}},
	"resp_create_stream": &Response{RequestID: 2, Payload: CreateStreamResponse{StreamID: sid}},
	"resp_append_events": &Response{RequestID: 3, Payload: AppendEventsResponse{FirstOffset: 0, Count: 2}},
	"resp_read_events": &Response{RequestID: 4, Payload: ReadEventsResponse{Events: [][]byte{[]byte("event1"), []byte("event2")},
		NextOffset: u64p(2)}},
	"resp_read_events_empty": &Response{RequestID: 4, Payload: ReadEventsResponse{Events: [][]byte{}}},
	"resp_stream_info":       &Response{RequestID: 5, Payload: StreamInfoResponse{Length: 2}},
	"resp_subscribe":         &Response{RequestID: 6, Payload: SubscribeResponse{SubscriptionID: 300, StartOffset: 0, Credits: 128}},
	"resp_sync":              &Response{RequestID: 7, Payload: SyncResponse{Success: true}},
	"resp_subscription_ack":  &Response{RequestID: 8, Payload: SubscriptionAckResponse{SubscriptionID: 300, CreditsRemaining: 192}},
	"resp_server_info": &Response{RequestID: 10, Payload: ServerInfoResponse{BuildVersion: "0.8.0", ProtocolVersion: 5,
		Capabilities: []string{"query"}, UptimeSecs: 3600, ClusterMode: ClusterClustered, TenantCount: 0}},
	"resp_error_not_leader": &Response{RequestID: 3, Payload: ErrorResponse{Code: ErrNotLeader,
		Message: "not the leader (view: 7, leader hint: 10.0.0.2:5432)"}},
	"resp_error_offset_mismatch": &Response{RequestID: 3, Payload: ErrorResponse{Code: ErrOffsetMismatch, Message: "x"}},
	"push_events":                &Push{Payload: SubscriptionEvents{SubscriptionID: 300, StartOffset: 2, Events: [][]byte{[]byte("e")}, CreditsRemaining: 127}},
	"push_closed":                &Push{Payload: SubscriptionClosed{SubscriptionID: 300, Reason: CloseClientCancelled}},
	"req_masking_policy_list":    &Request{ID: 1, TenantID: 1, Payload: RawRequest{Index: 42, Body: []byte{0}}},
	"resp_masking_policy_list":   &Response{RequestID: 1, Payload: RawResponse{Index: 42, Body: []byte{0, 0}}},
	"resp_error_unique":          &Response{RequestID: 1, Payload: ErrorResponse{Code: ErrUniqueConstraintViolation, Message: ""}},
	"req_big_ids":                &Request{ID: ^uint64(0), TenantID: 300, Payload: StreamInfoRequest{StreamID: 1 << 63}},
}

func TestVectorsBothWays(t *testing.T) {
	vectors, order := loadVectors(t)
	require.Contains(t, vectors, "crc_123456789")
	for _, name := range order {
		if name == "crc_123456789" {
			continue
		}
		v := vectors[name]
		want, ok := expected[name]
		require.True(t, ok, "no expected message for vector %s", name)
		t.Run(name, func(t *testing.T) {
			require.Equal(t, v.payload, AppendMessage(nil, want), "encoding")
			frame, err := AppendFrame(nil, want)
			require.NoError(t, err)
			require.Equal(t, v.frame, frame, "frame")

			got, err := DecodeMessage(v.payload)
			require.NoError(t, err)
			require.Equal(t, want, got, "decoding")

			got, err = DecodeFrame(v.frame)
			require.NoError(t, err)
			require.Equal(t, want, got)

			payload, err := ReadFrame(bytes.NewReader(v.frame), nil)
			require.NoError(t, err)
			require.Equal(t, v.payload, payload)
		})
	}
	require.Len(t, expected, len(order)-1, "every expected message has a vector")
}

func TestCRCCheckValue(t *testing.T) {
	require.Equal(t, uint32(0xCBF43926), Checksum([]byte("123456789")))
	require.Equal(t, uint32(0), Checksum(nil))
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

func TestDecodeNegative(t *testing.T) {
	cases := map[string]string{
		"bool byte 02":              "01 07 09 02",                // Sync{success: 02}
		"u32 varint overflow":       "01 03 03 00 ff ff ff ff 1f", // AppendEvents count
		"u16 varint overflow":       "00 01 2a 00 00 ff ff 07 00", // client_version
		"u64 overlong varint":       "00 ff ff ff ff ff ff ff ff ff 02 00 00 16",
		"varint too long":           "00 80 80 80 80 80 80 80 80 80 80 00",
		"invalid UTF-8":             "00 01 2a 00 01 02 ff fe 00 01",
		"request variant 43":        "00 01 2a 00 2b",
		"response variant 43":       "01 01 2b",
		"message variant 3":         "03",
		"truncated payload":         "00 03 2a 00 02 81 80 80 80 a0 05 02 06 65 76",
		"empty payload":             "",
		"option tag 02":             "00 01 2a 02",
		"error code 30":             "01 01 00 1e 00",
		"data class 8":              "00 02 2a 00 01 01 61 08 01",
		"vec length beyond payload": "01 04 06 ff ff ff ff 0f",
	}
	for name, h := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := DecodeMessage(mustHex(h))
			require.Error(t, err)
			require.ErrorIs(t, err, ErrDecode)
			var de *DecodeError
			require.True(t, errors.As(err, &de))
		})
	}
}

func TestDecodeLenient(t *testing.T) {
	// Non-minimal varints are accepted: request id 81 00 == 1.
	m, err := DecodeMessage(mustHex("00 81 00 2a 00 16"))
	require.NoError(t, err)
	require.Equal(t, uint64(1), m.(*Request).ID)
	// Trailing bytes after a complete message are ignored.
	m, err = DecodeMessage(mustHex("01 07 09 01 ff ff"))
	require.NoError(t, err)
	require.Equal(t, SyncResponse{Success: true}, m.(*Response).Payload)
	// An unimplemented request variant decodes to RawRequest, so a server can answer it.
	m, err = DecodeMessage(mustHex("00 05 2a 00 03 01 02"))
	require.NoError(t, err)
	require.Equal(t, RawRequest{Index: 3, Body: []byte{1, 2}}, m.(*Request).Payload)
	require.Equal(t, "Query", RequestName(3))
}

func TestFrameErrors(t *testing.T) {
	good, err := AppendFrame(nil, &Response{RequestID: 7, Payload: SyncResponse{Success: true}})
	require.NoError(t, err)

	bad := bytes.Clone(good)
	bad[0] = 'X'
	_, err = ReadFrame(bytes.NewReader(bad), nil)
	require.ErrorIs(t, err, ErrBadMagic)

	bad = bytes.Clone(good)
	bad[5] = 4
	_, err = ReadFrame(bytes.NewReader(bad), nil)
	require.ErrorIs(t, err, ErrBadVersion)

	bad = bytes.Clone(good)
	bad[13] ^= 1
	_, err = ReadFrame(bytes.NewReader(bad), nil)
	require.ErrorIs(t, err, ErrChecksum)

	// Oversize is refused from the header alone, before any payload arrives.
	hdr := bytes.Clone(good[:HeaderSize])
	hdr[6], hdr[7], hdr[8], hdr[9] = 0x01, 0x00, 0x00, 0x01
	_, err = ReadFrame(bytes.NewReader(hdr), nil)
	require.ErrorIs(t, err, ErrFrameTooLarge)

	// Exactly 16 MiB passes the header check.
	hdr[6], hdr[7], hdr[8], hdr[9] = 0x01, 0x00, 0x00, 0x00
	n, _, err := CheckHeader(hdr)
	require.NoError(t, err)
	require.Equal(t, MaxPayloadSize, n)

	_, err = ReadFrame(bytes.NewReader(good[:HeaderSize+1]), nil)
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)
	_, err = ReadFrame(bytes.NewReader(nil), nil)
	require.ErrorIs(t, err, io.EOF)

	big := &Request{ID: 1, Payload: AppendEventsRequest{StreamID: 1, Events: [][]byte{make([]byte, MaxPayloadSize)}}}
	out, err := AppendFrame([]byte{9}, big)
	require.ErrorIs(t, err, ErrFrameTooLarge)
	require.Equal(t, []byte{9}, out)
}

func TestNotLeaderText(t *testing.T) {
	msg := FormatNotLeader(7, "10.0.0.2:5432")
	require.Equal(t, "not the leader (view: 7, leader hint: 10.0.0.2:5432)", msg)
	view, hint, ok := ParseNotLeader(msg)
	require.True(t, ok)
	require.Equal(t, uint64(7), view)
	require.Equal(t, "10.0.0.2:5432", hint)

	require.Equal(t, "not the leader (view: 3, leader hint: unknown)", FormatNotLeader(3, ""))
	_, hint, ok = ParseNotLeader("not the leader (view: 3, leader hint: unknown)")
	require.True(t, ok)
	require.Equal(t, "", hint)

	_, hint, ok = ParseNotLeader("not the leader (view: 9, leader hint: [::1]:5432)")
	require.True(t, ok)
	require.Equal(t, "[::1]:5432", hint)

	for _, bad := range []string{"", "not leader", "not the leader (view: x, leader hint: a)", "not the leader (view: 1, leader hint: a"} {
		_, _, ok = ParseNotLeader(bad)
		require.False(t, ok, bad)
	}
}

func TestErrorCodeNames(t *testing.T) {
	require.Equal(t, 30, ErrorCodeCount)
	require.Equal(t, "NotLeader", ErrNotLeader.String())
	require.Equal(t, ErrorCode(15), ErrNotLeader)
	require.Equal(t, "UniqueConstraintViolation", ErrUniqueConstraintViolation.String())
	require.Equal(t, "ErrorCode(99)", ErrorCode(99).String())
	require.Equal(t, "Public", DataClassPublic.String())
}

// FuzzDecodeFrame checks that no input makes the frame or message decoder panic, and that every
// message it accepts re-encodes to a payload that decodes to the same message.
func FuzzDecodeFrame(f *testing.F) {
	vectors, _ := loadVectors(f)
	for _, v := range vectors {
		f.Add(v.frame)
		f.Add(v.payload)
	}
	f.Add([]byte{})
	f.Add(mustHex("56444220 0005 ffffffff 00000000"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if m, err := DecodeFrame(b); err == nil {
			roundTrip(t, m)
		}
		_, _ = ReadFrame(bytes.NewReader(b), nil)
		if m, err := DecodeMessage(b); err == nil {
			roundTrip(t, m)
		}
	})
}

func roundTrip(t *testing.T, m Message) {
	again, err := DecodeMessage(AppendMessage(nil, m))
	if err != nil {
		t.Fatalf("re-encoded message does not decode: %v", err)
	}
	if !equalMessages(m, again) {
		t.Fatalf("round trip changed the message: %#v != %#v", m, again)
	}
}

func equalMessages(a, b Message) bool {
	return bytes.Equal(AppendMessage(nil, a), AppendMessage(nil, b))
}

func TestDecodeLimitsEventsBeforeDecodingThem(t *testing.T) {
	req := &Request{ID: 9, TenantID: 4, Payload: AppendEventsRequest{StreamID: 1, Events: [][]byte{{1}, {}, {2, 3}}}}
	payload := AppendMessage(nil, req)
	if m, err := DecodeMessageLimited(payload, 3); err != nil || len(m.(*Request).Payload.(AppendEventsRequest).Events) != 3 {
		t.Fatalf("at the limit: %v %#v", err, m)
	}
	_, err := DecodeMessageLimited(payload, 2)
	e, ok := err.(*TooManyEventsError)
	if !ok || *e != (TooManyEventsError{RequestID: 9, TenantID: 4, Count: 3, Max: 2}) {
		t.Fatalf("over the limit: %#v", err)
	}
	// Other event vectors (answers, pushes) are not bounded by it.
	resp := AppendMessage(nil, &Response{RequestID: 1, Payload: ReadEventsResponse{Events: [][]byte{{1}, {2}, {3}}}})
	if _, err := DecodeMessageLimited(resp, 2); err != nil {
		t.Fatal(err)
	}
}
