package pool

import "github.com/kimberlite/libkimberlite/wire"

// The wire types a caller of Client meets, under names in this package, so that
// `go doc pool` is all a caller reads. They are aliases: a pool.DataClass is a wire.DataClass.

// DataClass is the compliance class of a stream's data (CreateStream).
type DataClass = wire.DataClass

// The data classes, in wire order.
const (
	DataClassPHI          = wire.DataClassPHI
	DataClassDeidentified = wire.DataClassDeidentified
	DataClassPII          = wire.DataClassPII
	DataClassSensitive    = wire.DataClassSensitive
	DataClassPCI          = wire.DataClassPCI
	DataClassFinancial    = wire.DataClassFinancial
	DataClassConfidential = wire.DataClassConfidential
	DataClassPublic       = wire.DataClassPublic
	// NonPHI is the connection pooling guide's name for DataClassPublic.
	NonPHI = wire.DataClassPublic
)

// Placement says where a stream lives (CreateStream); pass PlacementGlobal.
type Placement = wire.Placement

// PlacementGlobal is the placement every stream gets on the server.
var PlacementGlobal = wire.PlacementGlobal

// ServerInfo is what Client.ServerInfo returns.
type ServerInfo = wire.ServerInfoResponse

// ClusterMode is how a server reports itself in ServerInfo.
type ClusterMode = wire.ClusterMode

// The cluster modes of ServerInfo.
const (
	ClusterStandalone = wire.ClusterStandalone
	ClusterClustered  = wire.ClusterClustered
)

// ErrorCode is the server's error code in Error.ServerCode (its String is the wire name,
// e.g. "NotLeader").
type ErrorCode = wire.ErrorCode
