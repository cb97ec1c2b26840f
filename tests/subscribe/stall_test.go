package subscribe_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kimberlite/libkimberlite/internal/pooltest"
	"github.com/kimberlite/libkimberlite/internal/testserver"
	"github.com/kimberlite/libkimberlite/pool"
	"github.com/kimberlite/libkimberlite/wire"
)

// rssAnon is the anonymous resident memory of process pid (heap and stacks, not the mapped
// database file), from /proc.
func rssAnon(t *testing.T, pid int) int64 {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skipf("server memory is measured from /proc/PID/status (RssAnon), which %s does not have", runtime.GOOS)
	}
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatalf("reading the server's memory: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "RssAnon:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatalf("/proc/%d/status has no RssAnon line (Linux 4.5 or later has it)", pid)
	return 0
}

func heapInUse() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapInuse)
}

// A subscriber stops reading for 10 s while 100,000 events (1 KiB each, about 100 MiB) are
// appended. Neither the server nor the client buffers them: the server pushes only what the
// credit window allows, and the client holds at most that window. Then it catches up.
func TestStalledSubscriberCostsBoundedMemory(t *testing.T) {
	const (
		events    = 100_000
		eventSize = 1 << 10
		window    = 128
		stall     = 10 * time.Second
		bound     = 48 << 20 // far below the 100 MiB appended
	)
	srv := testserver.StartServer(t)
	wc := connect(t, clientConfig([]string{srv.Addr}))
	sc := connect(t, clientConfig([]string{srv.Addr}))
	ctx := pooltest.Ctx(t, 90*time.Second)
	sid, err := wc.CreateStream(ctx, "stall", wire.DataClassPublic, wire.PlacementGlobal)
	if err != nil {
		t.Fatal(err)
	}
	sub, err := sc.Subscribe(ctx, sid, pool.SubscribeOptions{Credits: window})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	serverBefore, clientBefore := rssAnon(t, srv.Pid()), heapInUse()

	stalled := time.Now() // from here the subscriber does not read
	pad := strings.Repeat("x", eventSize-16)
	for i := 0; i < events; i += 1000 {
		batch := make([][]byte, 1000)
		for j := range batch {
			batch[j] = []byte(fmt.Sprintf("%08d%s", i+j, pad))
		}
		if _, err := wc.Append(ctx, sid, batch, pool.AppendOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(time.Until(stalled.Add(stall))) // the rest of the stall: the scenario, not a wait
	serverGrowth, clientGrowth := rssAnon(t, srv.Pid())-serverBefore, heapInUse()-clientBefore
	t.Logf("after the stall: server anonymous RSS +%d KiB, client heap +%d KiB", serverGrowth>>10, clientGrowth>>10)
	if serverGrowth > bound {
		t.Errorf("server memory grew by %d MiB while the subscriber stalled", serverGrowth>>20)
	}
	if clientGrowth > bound {
		t.Errorf("client memory grew by %d MiB while the subscriber stalled", clientGrowth>>20)
	}

	next := uint64(0)
	for next < events {
		nctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		batch, err := sub.Next(nctx)
		cancel()
		if err != nil {
			t.Fatalf("next at %d: %v", next, err)
		}
		if next == 0 && len(batch) > window {
			t.Fatalf("the client buffered %d events, beyond its window of %d", len(batch), window)
		}
		for _, e := range batch {
			if e.Offset != next || string(e.Data[:8]) != fmt.Sprintf("%08d", next) {
				t.Fatalf("event %d %q, want offset %d", e.Offset, e.Data[:8], next)
			}
			next++
		}
	}
}
