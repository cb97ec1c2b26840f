package wire

import "fmt"

// ErrorCode is the server's error code. Its value is both the wire enum index and the numeric code.
type ErrorCode uint32

// The 30 error codes of protocol v5, in declaration (wire) order.
const (
	ErrUnknown ErrorCode = iota
	ErrInternalError
	ErrInvalidRequest
	ErrAuthenticationFailed
	ErrTenantNotFound
	ErrStreamNotFound
	ErrTableNotFound
	ErrQueryParseError
	ErrQueryExecutionError
	ErrPositionAhead
	ErrStreamAlreadyExists
	ErrInvalidOffset
	ErrStorageError
	ErrProjectionLag
	ErrRateLimited
	ErrNotLeader
	ErrOffsetMismatch
	ErrSubscriptionNotFound
	ErrSubscriptionClosed
	ErrSubscriptionBackpressure
	ErrApiKeyNotFound
	ErrTenantAlreadyExists
	ErrConsentNotFound
	ErrConsentExpired
	ErrErasureNotFound
	ErrErasureAlreadyComplete
	ErrErasureExempt
	ErrBreachNotFound
	ErrExportNotFound
	ErrUniqueConstraintViolation
	errorCodeCount
)

var errorCodeNames = [...]string{
	"Unknown", "InternalError", "InvalidRequest", "AuthenticationFailed", "TenantNotFound",
	"StreamNotFound", "TableNotFound", "QueryParseError", "QueryExecutionError", "PositionAhead",
	"StreamAlreadyExists", "InvalidOffset", "StorageError", "ProjectionLag", "RateLimited",
	"NotLeader", "OffsetMismatch", "SubscriptionNotFound", "SubscriptionClosed",
	"SubscriptionBackpressure", "ApiKeyNotFound", "TenantAlreadyExists", "ConsentNotFound",
	"ConsentExpired", "ErasureNotFound", "ErasureAlreadyComplete", "ErasureExempt", "BreachNotFound",
	"ExportNotFound", "UniqueConstraintViolation",
}

// ErrorCodeCount is the number of error codes protocol v5 defines (0..ErrorCodeCount-1).
const ErrorCodeCount = int(errorCodeCount)

// String returns the code's protocol name, or "ErrorCode(N)" for a value outside the protocol.
func (c ErrorCode) String() string {
	if int(c) < len(errorCodeNames) {
		return errorCodeNames[c]
	}
	return fmt.Sprintf("ErrorCode(%d)", uint32(c))
}

// DataClass is the compliance class of a stream's data.
type DataClass uint8

// The eight data classes, in wire order.
const (
	DataClassPHI DataClass = iota
	DataClassDeidentified
	DataClassPII
	DataClassSensitive
	DataClassPCI
	DataClassFinancial
	DataClassConfidential
	DataClassPublic
	dataClassCount
)

// DataClassCount is the number of data classes (valid values are 0..DataClassCount-1).
const DataClassCount = int(dataClassCount)

var dataClassNames = [...]string{"PHI", "Deidentified", "PII", "Sensitive", "PCI", "Financial", "Confidential", "Public"}

func (c DataClass) String() string {
	if int(c) < len(dataClassNames) {
		return dataClassNames[c]
	}
	return fmt.Sprintf("DataClass(%d)", uint8(c))
}

// RegionKind selects a Region variant.
type RegionKind uint8

const (
	RegionUSEast1 RegionKind = iota
	RegionAPSoutheast2
	RegionCustom
)

// Region is where a regional stream lives; Custom is used only when Kind is RegionCustom.
type Region struct {
	Kind   RegionKind
	Custom string
}

// Placement is Global, or Region(Region) when Global is false. The zero value is Region(USEast1);
// use PlacementGlobal for the usual choice.
type Placement struct {
	Global bool
	Region Region
}

// PlacementGlobal is the placement every stream gets on the server (it ignores placement).
var PlacementGlobal = Placement{Global: true}

// ClusterMode is how a server reports itself in ServerInfo.
type ClusterMode uint8

const (
	ClusterStandalone ClusterMode = iota
	ClusterClustered
)

// SubscriptionCloseReason says why the server closed a subscription.
type SubscriptionCloseReason uint8

const (
	CloseClientCancelled SubscriptionCloseReason = iota
	CloseServerShutdown
	CloseStreamDeleted
	CloseBackpressureTimeout
	CloseProtocolError
)

// AuditMetadata is optional compliance attribution carried by a request.
type AuditMetadata struct {
	Actor          *string
	Reason         *string
	CorrelationID  *string
	IdempotencyKey *string
}

// StreamID builds a stream id from a tenant and a per-tenant local id, as the server does:
// tenant << 32 | local (tenant ids at or above 2^32 lose their high bits).
func StreamID(tenant uint64, local uint32) uint64 { return tenant<<32 | uint64(local) }

// StreamTenant returns the low 32 bits of the tenant a stream id belongs to.
func StreamTenant(streamID uint64) uint32 { return uint32(streamID >> 32) }
