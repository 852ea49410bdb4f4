package erasured

import (
	"encoding/json"
	"errors"
	"time"
)

// ErasureService is a service of a store that must erase its part of every erasure
// request filed in the store: the store's registry. A new erasure request copies the
// registry's names as its ServicesRequired, so changing the registry never changes a
// request already filed.
type ErasureService struct {
	StoreID     string
	Name        string
	Description *string
	CreatedAt   time.Time
	// Version grows by one with every change; it is the ETag.
	Version int64
}

// maxServiceDescription bounds a service's description, in characters.
const maxServiceDescription = 1000

// ErasureServices declares the erasure_service type. Its id is its name, which a client
// chooses once; a PATCH may change only the description.
var ErasureServices = NewType("erasure_service",
	Getter(Attribute{Name: "id", Column: "name", Kind: registryName{}}, func(s *ErasureService) any { return s.Name }),
	[]Field[ErasureService]{
		Ref(Attribute{Name: "name", Column: "name", Kind: registryName{}, FilterKind: String{},
			Access: Read | Create | Required | Sortable, Filter: FilterText},
			func(s *ErasureService) *string { return &s.Name }),
		Ref(Attribute{Name: "description", Column: "description", Kind: String{Max: maxServiceDescription}, Nullable: true,
			Access: Read | Create | Patch},
			func(s *ErasureService) **string { return &s.Description }),
		Ref(Attribute{Name: "created_at", Column: "created_at", Kind: Timestamp{}, Access: Read | Sortable, Filter: FilterOrdered},
			func(s *ErasureService) *time.Time { return &s.CreatedAt }),
	},
	[]Sort{{Attribute: "name"}})

// registryName is the kind of a registered service's name, which is also its id in
// URLs: 1 to 100 of a-z, 0-9, "_", "." and "-", and not ServiceRequests, which names
// this server's own part. Its values are strings. An id in a URL is read by the same
// rules: one that breaks them names no service.
type registryName struct{}

var errRegistryName = errors.New(`must be 1 to 100 of the characters a-z, 0-9, "_", "." and "-"`)

func (k registryName) Decode(raw json.RawMessage) (any, error) {
	s, err := jsonString(raw, func() error { return errRegistryName })
	if err != nil {
		return nil, err
	}
	return k.Parse(s)
}

func (registryName) Parse(text string) (any, error) {
	if len(text) < 1 || len(text) > maxServiceName {
		return nil, errRegistryName
	}
	for i := range len(text) {
		c := text[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == '-') {
			return nil, errRegistryName
		}
	}
	if text == ServiceRequests {
		return nil, errors.New(reserved)
	}
	return text, nil
}

// NewErasureService returns the service that a client registers in store storeID with
// in, the values ErasureServices.Decode read for Create.
func NewErasureService(storeID string, in Values, now time.Time) *ErasureService {
	s := &ErasureService{StoreID: storeID, CreatedAt: now, Version: 1}
	ErasureServices.Set(s, in)
	return s
}

// Apply changes s as in, the values ErasureServices.Decode read for Patch, say. The
// caller bumps Version when it stores s.
func (s *ErasureService) Apply(in Values) { ErasureServices.Set(s, in) }
