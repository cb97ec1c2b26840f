package engine

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/kimberlite/libkimberlite/wire"
)

func TestOpRoundTrip(t *testing.T) {
	ops := []Op{
		{Kind: OpCreateStream, Tenant: 42, Name: "orders", DataClass: wire.DataClassPHI, Placement: wire.PlacementGlobal},
		{Kind: OpCreateStream, Tenant: 0, Name: "", DataClass: wire.DataClassPublic},
		{Kind: OpCreateStream, Tenant: 1<<64 - 1, Name: "é", DataClass: wire.DataClassPCI,
			Placement: wire.Placement{Region: wire.Region{Kind: wire.RegionAPSoutheast2}}},
		{Kind: OpCreateStream, Tenant: 7, Name: "x", DataClass: wire.DataClassFinancial,
			Placement: wire.Placement{Region: wire.Region{Kind: wire.RegionCustom, Custom: "eu-north-9"}}},
		{Kind: OpAppend, Tenant: 42, StreamID: wire.StreamID(42, 1), Expected: 1 << 40,
			Events: [][]byte{[]byte("a"), {}, bytes.Repeat([]byte{0xff}, 300)}},
		{Kind: OpAppend, Tenant: 1, StreamID: 1, Events: [][]byte{}},
	}
	for _, op := range ops {
		b := EncodeOp(op)
		if !bytes.Equal(b, EncodeOp(op)) {
			t.Fatalf("encoding of %+v is not deterministic", op)
		}
		got, err := DecodeOp(b)
		if err != nil {
			t.Fatalf("decode %+v: %v", op, err)
		}
		if !reflect.DeepEqual(got, op) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, op)
		}
	}
}

func TestDecodeOpRejectsBadInput(t *testing.T) {
	valid := EncodeOp(Op{Kind: OpAppend, Tenant: 3, StreamID: 9, Expected: 2, Events: [][]byte{[]byte("abc"), []byte("de")}})
	cases := map[string][]byte{
		"empty":            {},
		"bad version":      {2, 2, 0},
		"unknown kind":     {1, 9, 0},
		"kind zero":        {1, 0, 0},
		"overlong varint":  {1, 2, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01},
		"huge event count": {1, 2, 0, 1, 0, 0xff, 0xff, 0xff, 0xff, 0x0f},
		"event past end":   {1, 2, 0, 1, 0, 1, 5, 'a'},
		"trailing bytes":   append(append([]byte(nil), valid...), 0),
		"bad data class":   {1, 1, 0, 1, 'n', 8, 1},
		"bad placement":    {1, 1, 0, 1, 'n', 0, 2},
		"bad region":       {1, 1, 0, 1, 'n', 0, 0, 3},
		"truncated name":   {1, 1, 0, 5, 'n'},
	}
	for i := 1; i < len(valid); i++ {
		cases[fmt.Sprintf("truncated at %d", i)] = valid[:i]
	}
	for name, b := range cases {
		if _, err := DecodeOp(b); !errors.Is(err, ErrBadOp) {
			t.Errorf("%s: DecodeOp(% x) = %v, want ErrBadOp", name, b, err)
		}
	}
}

func FuzzDecodeOp(f *testing.F) {
	f.Add(EncodeOp(Op{Kind: OpAppend, Tenant: 3, StreamID: 9, Events: [][]byte{[]byte("abc")}}))
	f.Add(EncodeOp(Op{Kind: OpCreateStream, Tenant: 3, Name: "s",
		Placement: wire.Placement{Region: wire.Region{Kind: wire.RegionCustom, Custom: "r"}}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		op, err := DecodeOp(b)
		if err != nil {
			return
		}
		// Whatever decodes must survive a round trip unchanged.
		again, err := DecodeOp(EncodeOp(op))
		if err != nil || !reflect.DeepEqual(again, op) {
			t.Fatalf("round trip of %+v: %+v, %v", op, again, err)
		}
	})
}
