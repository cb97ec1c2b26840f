package pool

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/kimberlite/libkimberlite/tests/faultproxy"
	"github.com/kimberlite/libkimberlite/wire"
)

// A foreign-thread solo reader spins for quick answers and catches some while spinning, every
// answer being the right one; it does not spin while the process has its fill of spinners, nor
// once its answers come slowly (a proxy delays them): then it sleeps in ppoll at once.
func TestSoloReadersSpinOnlyForQuickAnswers(t *testing.T) {
	if maxSpinners < 1 {
		t.Skip("one CPU: nothing spins")
	}
	proxy := faultproxy.New(t, startLocal(t))
	c := connectLocal(t, proxy.Addr(), func(cfg *Config) { cfg.MaxConnsPerNode, cfg.MinIdleConnsPerNode = 1, 1 })
	ctx := OnForeignThread(context.Background())
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	sid, err := c.CreateStream(ctx, "spin", wire.DataClassPublic, wire.PlacementGlobal)
	if err != nil {
		t.Fatal(err)
	}
	const calls = 300
	events := make([][]byte, calls)
	for i := range events {
		events[i] = []byte(fmt.Sprintf("spin-%d", i))
	}
	if _, err := c.Append(ctx, sid, events, AppendOptions{}); err != nil {
		t.Fatal(err)
	}
	conn := onlyConn(t, c)
	read := func(i int) {
		t.Helper()
		r, err := c.Read(ctx, sid, uint64(i), 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Events) != 1 || string(r.Events[0].Data) != string(events[i]) {
			t.Fatalf("read at %d gave %v, want %q", i, r.Events, events[i])
		}
	}
	spins, caught := conn.waits.spins.Load(), conn.waits.caught.Load()
	for i := 0; i < calls; i++ {
		read(i)
	}
	spun, hit := conn.waits.spins.Load()-spins, conn.waits.caught.Load()-caught
	t.Logf("quick answers: %d of %d reads spun, %d caught while spinning", spun, calls, hit)
	if hit == 0 {
		t.Errorf("no answer of %d local reads came while spinning (%d spun)", calls, spun)
	}

	// No spinning once as many threads spin as the machine has CPUs beyond one.
	spinners.Add(maxSpinners)
	restore := sync.OnceFunc(func() { spinners.Add(-maxSpinners) })
	t.Cleanup(restore) // also when a read fails the test
	spins = conn.waits.spins.Load()
	for i := 0; i < 20; i++ {
		read(i)
	}
	restore()
	if spun := conn.waits.spins.Load() - spins; spun > 0 {
		t.Errorf("%d of 20 reads spun while %d other threads spun", spun, maxSpinners)
	}

	proxy.Delay(2 * time.Millisecond) // each answer is now slower than spinWorth
	for i := 0; i < 40; i++ {         // long enough for the average to pass spinWorth
		read(i)
	}
	spins = conn.waits.spins.Load()
	for i := 0; i < 40; i++ {
		read(i)
	}
	if spun := conn.waits.spins.Load() - spins; spun > 0 {
		t.Errorf("%d of 40 reads answered after 2ms spun (average wait %v)", spun, conn.waits.avg)
	}
}

// SpinnersAllowed is maxSpinners, for the external tests of Loop.Idle (loop_idle_test.go).
func SpinnersAllowed() int32 { return maxSpinners }

// FillSpinners takes every thread the process may spin, as other spinning threads would, until
// the returned function gives them back.
func FillSpinners() (restore func()) {
	spinners.Add(maxSpinners)
	return sync.OnceFunc(func() { spinners.Add(-maxSpinners) })
}
