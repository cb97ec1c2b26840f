// Package limits holds tests of the server's limits against hostile or overloaded clients: each
// runs the real kimberlite server as a child process, attacks it over raw sockets, measures its
// resident memory from /proc and checks that another client is still served promptly.
package limits
