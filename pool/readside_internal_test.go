package pool

import (
	"net"
	"testing"
	"time"
)

// bytesWaiting tells an answer that arrived but was not read yet (a starved process) from no
// answer at all, and takes nothing from the socket.
func TestBytesWaiting(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	client, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	rc, err := client.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	c := &conn{rc: rc}
	if c.bytesWaiting() {
		t.Fatal("bytes waiting on a socket nothing was sent to")
	}
	if _, err := server.Write([]byte("answer")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !c.bytesWaiting() {
		if time.Now().After(deadline) {
			t.Fatal("the bytes sent never showed as waiting")
		}
		time.Sleep(time.Millisecond)
	}
	buf := make([]byte, 16)
	_ = client.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, err := client.Read(buf)
	if err != nil || string(buf[:n]) != "answer" {
		t.Fatalf("the peek took bytes: read %q, %v", buf[:n], err)
	}
	if (&conn{}).bytesWaiting() {
		t.Error("a connection without a raw socket reports bytes waiting")
	}
}
