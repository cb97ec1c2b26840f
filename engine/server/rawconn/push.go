package rawconn

import "github.com/kimberlite/libkimberlite/wire"

// RecvMessage reads the next frame, a *wire.Response or a *wire.Push (subscriptions push
// between responses).
func (c *Conn) RecvMessage() (wire.Message, error) {
	payload, err := wire.ReadFrame(c.r, nil)
	if err != nil {
		return nil, err
	}
	return wire.DecodeMessage(payload)
}
